"""The rule of a mirror's READY and DEGRADED states, with the clock passed in (no server)."""

from __future__ import annotations

from etcdmap._core.mirror_health import MirrorHealth


def test_silence_counts_from_the_last_answer_less_a_late_beat() -> None:
    health = MirrorHealth(degraded_after=3.0, beat=1.0)  # silence allowed: 3 - 1.25 = 1.75 s
    health.heard(10.0)
    assert health.silence(11.75) is None
    assert round(health.silence(11.8) or 0, 6) == 1.8
    health.heard(9.0)  # an answer seen late does not move time back
    assert health.silence(11.7) is None


def test_recovery_needs_degrade_then_read_then_answer_and_the_revision() -> None:
    health = MirrorHealth(degraded_after=3.0, beat=1.0)
    health.heard(1.0)
    health.degraded(2.0)
    assert not health.may_recover(100)  # nothing since it degraded
    health.heard(3.0)
    assert not health.may_recover(100)  # the watch answered, but no read told the revision
    health.read(4.0, 50)
    assert not health.may_recover(100)  # a read, but the watch has not answered since
    health.heard(5.0)
    assert not health.may_recover(49)  # the copy is behind what the read told
    assert health.may_recover(50)
    health.degraded(6.0)
    assert not health.may_recover(50)  # degraded again: an older read does not count


def test_a_late_answer_to_an_older_read_changes_nothing() -> None:
    health = MirrorHealth(degraded_after=3.0, beat=1.0)
    health.degraded(1.0)
    health.read(3.0, 40)
    health.read(2.0, 30)  # sent earlier, answered later
    assert (health.read_at, health.read_revision) == (3.0, 40)
    health.heard(4.0)
    assert not health.may_recover(39) and health.may_recover(40)
