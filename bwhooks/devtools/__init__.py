"""Development tools, above the core and imported only when used: ``bwhooks listen``'s
server (:mod:`~bwhooks.devtools.serving`), recording (:mod:`~bwhooks.devtools.recording`),
forwarding (:mod:`~bwhooks.devtools.forwarding`), the inspector page
(:mod:`~bwhooks.devtools.inspector`), replay (:mod:`~bwhooks.devtools.replaying`), export to
fixtures (:mod:`~bwhooks.devtools.fixtures`) and the demo (:mod:`~bwhooks.devtools.demo`).
"""
