"""The rule of a mirror's READY and DEGRADED states, with the clock passed in (no server)."""

from __future__ import annotations

from etcdmap._core.mirror_health import PROBE_BEATS, MirrorHealth, prefix_unchanged


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


def test_the_prefix_is_unchanged_only_when_no_key_is_newer_and_as_many_keys_remain() -> None:
    assert prefix_unchanged(True, [3], 3)
    assert not prefix_unchanged(False, [], 3)  # a key was modified (or re-created) after the copy
    assert not prefix_unchanged(True, [2], 3)  # a key was deleted: fewer keys, none newer
    assert prefix_unchanged(True, [0], 0)  # an empty prefix that stayed empty


def test_an_endpoint_that_answers_no_progress_request_is_confirmed_by_reads() -> None:
    health = MirrorHealth(degraded_after=3.0, beat=1.0)
    health.heard(0.5)
    assert health.ask_progress(1.0)
    health.heard(1.01, progress=True)  # answered: no read at the next beat
    assert not health.needs_read(2.0) and health.ask_progress(2.0)
    # unanswered for a beat: a read; answered, it tells the endpoint answers none
    assert health.needs_read(3.0)
    health.read(3.0, 10, current=True)
    assert not health.answers_progress and health.silence(4.7) is None
    assert not health.ask_progress(4.0)  # no more requests (the proxy logs each) ...
    assert not health.needs_read(3.4) and health.needs_read(4.0)  # ... a read every beat
    for now in range(5, 12):
        health.read(now, 10, current=True)
        assert health.ask_progress(now) is (health.beats % PROBE_BEATS == 0)  # ... but probes
    probe = health.asked_at
    health.heard(probe + 0.01, progress=True)  # a probe answered: requests again
    assert health.ask_progress(probe + 1) and health.answers_progress


def test_a_read_answered_soon_after_a_request_tells_nothing_about_progress() -> None:
    health = MirrorHealth(degraded_after=3.0, beat=1.0)
    assert health.ask_progress(1.0)
    health.read(1.2, 10)  # a wait_for's read before the answer could come
    assert health.answers_progress


def test_a_read_that_proves_the_copy_current_recovers_a_degraded_mirror() -> None:
    health = MirrorHealth(degraded_after=3.0, beat=1.0)
    health.degraded(2.0)
    health.read(3.0, 50)
    assert not health.may_recover(50)  # a read alone tells where the server is, not the copy
    health.read(4.0, 50, current=True)
    assert health.may_recover(50)
    health.read(5.0, 51)  # a newer read that found the prefix changed
    assert not health.may_recover(51)
