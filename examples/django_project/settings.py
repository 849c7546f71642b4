"""A minimal Django project receiving Bandwidth callbacks (see urls.py and callbacks.py).

Run: BWHOOKS_CREDENTIALS="bw-user:s3cret" python examples/django_project/manage.py runserver
"""

import os

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "change-me")
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = ["bwhooks.adapters.django"]  # bwhooks' system checks
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # callbacks are csrf-exempt
]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
BWHOOKS = {"RECEIVER": "callbacks.receiver"}  # served by include("bwhooks.adapters.django.urls")
