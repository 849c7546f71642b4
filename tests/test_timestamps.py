from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bwhooks.events.timestamps import format_timestamp, parse_duration, parse_timestamp


def tz(hours: int, minutes: int = 0) -> timezone:
    return timezone(timedelta(hours=hours, minutes=minutes))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2012-11-14T16:28:31.536Z", datetime(2012, 11, 14, 16, 28, 31, 536000, tzinfo=tz(0))),
        ("2014-07-31T01:01:27Z", datetime(2014, 7, 31, 1, 1, 27, tzinfo=tz(0))),
        ("2013-07-12T16:26:55.685-02:00", datetime(2013, 7, 12, 16, 26, 55, 685000, tzinfo=tz(-2))),
        ("2014-04-23T11:53:43-03", datetime(2014, 4, 23, 11, 53, 43, tzinfo=tz(-3))),
        ("2014-04-23T11:53:43+0530", datetime(2014, 4, 23, 11, 53, 43, tzinfo=tz(5, 30))),
        ("2014-04-23T11:53:43", datetime(2014, 4, 23, 11, 53, 43, tzinfo=tz(0))),  # no offset: UTC
        ("2014-04-23 11:53", datetime(2014, 4, 23, 11, 53, tzinfo=tz(0))),
        ("2020-01-01T00:00:00.123456789Z", datetime(2020, 1, 1, 0, 0, 0, 123457, tzinfo=tz(0))),
        ("2020-01-01T00:00:00,5+00:00", datetime(2020, 1, 1, 0, 0, 0, 500000, tzinfo=tz(0))),
    ],
)
def test_parses_every_form_seen_in_the_wild(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2014-13-01T00:00:00Z",
        "2014-02-30T00:00:00Z",
        "2014-01-01",
        "2014-01-01T25:00:00Z",
        "2014-01-01T00:00:00+24:00",
        "2014-01-01T00:00:00+01:75",
        "2014-01-01T00:00:00Zjunk",
        "١٢٣٤-01-01T00:00:00Z",
    ],
)
def test_rejects_what_is_not_a_date_time(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (the message is for humans)
        parse_timestamp(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2012, 11, 14, 16, 28, 31, 536000, tzinfo=tz(0)), "2012-11-14T16:28:31.536Z"),
        (datetime(2012, 11, 14, 16, 28, 31, tzinfo=tz(0)), "2012-11-14T16:28:31Z"),
        (datetime(2012, 11, 14, 16, 28, 31, 1, tzinfo=tz(0)), "2012-11-14T16:28:31.000001Z"),
        (datetime(2013, 7, 12, 16, 26, 55, 685000, tzinfo=tz(-2)), "2013-07-12T16:26:55.685-02:00"),
        (datetime(2013, 7, 12, 16, 26, 55), "2013-07-12T16:26:55Z"),  # naive is UTC
    ],
)
def test_formats_like_bandwidth_and_round_trips(value: datetime, text: str) -> None:
    assert format_timestamp(value) == text
    assert parse_timestamp(text) == value.replace(tzinfo=value.tzinfo or tz(0))


@pytest.mark.parametrize(
    "text", ["PT99999999999999S", "P9999999999W", "P1000000000D", "-PT99999999999999H"]
)
def test_a_duration_past_what_a_timedelta_holds_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_duration(text)
