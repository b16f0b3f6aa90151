"""The owner of an instance's life (edgebox._lifecycle): when it is over, why,
and what that costs each call. Pure decisions, tested without a browser."""

from edgebox import CrashedError, LimitError, PanicError, TimeoutError
from edgebox._guest_protocol import Via, WatchReading
from edgebox._lifecycle import Death, Watchdog, classify_exit, panicked_goroutine_was_spawned

OWN = "panic: boom\n\ngoroutine 7 [running]:\nmain.main.func4({...})\n\t/src/main.go:50 +0x4\nsyscall/js.handleEvent()\n\tsyscall/js/func.go:117 +0x28"
SPAWNED = ("panic: later\n\ngoroutine 18 [running]:\nmain.main.func9.1()\n\t/src/main.go:60 +0x5\n"
           "created by main.main.func9 in goroutine 7\n\t/src/main.go:58 +0x3\n\ngoroutine 1 [waiting]:\nmain.main()")


def test_only_a_real_panic_is_a_panic():
    assert isinstance(classify_exit("m", OWN, "2"), PanicError)
    # The same text with any other end is a crash: a guest cannot dress up os.Exit(3) as a panic.
    forged = classify_exit("m", OWN, "3")
    assert isinstance(forged, CrashedError) and "exited (code 3)" in forged.message
    assert isinstance(classify_exit("m", "fatal error: out of memory", "2"), LimitError)
    assert isinstance(classify_exit("m", "fatal error: out of memory", "5"), CrashedError)
    assert isinstance(classify_exit("m", OWN, "trap: unreachable", "wasip1"), PanicError)  # how a wasip1 panic ends
    assert isinstance(classify_exit("m", OWN, "2", "wasip1"), CrashedError)  # proc_exit(2) is not a wasip1 SDK panic
    assert isinstance(classify_exit("m", OWN, "trap: unreachable", "js"), CrashedError)
    # The last words count: text forged before a real panic does not replace it.
    real = classify_exit("m", "panic: forged\n\ngoroutine 1 [running]:\n" + "\n" + OWN, "2")
    assert real.message == "module 'm': " + OWN
    trapped = classify_exit("m", "", "trap: unreachable")
    assert isinstance(trapped, CrashedError) and "trapped (unreachable)" in trapped.message


def test_a_panic_of_a_spawned_goroutine_is_no_calls_own():
    assert panicked_goroutine_was_spawned(SPAWNED)
    assert not panicked_goroutine_was_spawned(OWN)
    reentered = OWN.replace("syscall/js.handleEvent()", "created by runtime.handleEvent in goroutine 1")
    assert not panicked_goroutine_was_spawned(reentered)  # the runtime's goroutine runs the call's own code
    assert not panicked_goroutine_was_spawned("no panic here")


def test_fate_names_the_cause_honestly():
    nobody = Death(PanicError("panic: later"), culprit=None, taken_page=5)
    assert "a goroutine no call was running" in nobody.fate(Via.PAGE, 5).message
    somebody = Death(PanicError("panic: boom"), culprit=(Via.PAGE, 4), taken_page=5)
    assert "another call" in somebody.fate(Via.PAGE, 5).message
    assert somebody.fate(Via.PAGE, 4) is somebody.error


def test_a_stalled_event_loop_blames_the_call_on_the_thread_or_nobody():
    between_calls = Watchdog("m", 100, 0.0)
    busy = dict(running=1, oldest_id=30, oldest_via=Via.PAGE, taken_page=31)
    assert between_calls.check(WatchReading(beat=1, oldest=3, **busy), 0.0) is None
    assert between_calls.check(WatchReading(beat=1, oldest=4, **busy), 0.099) is None  # 99 ms: within the limit
    stalled = between_calls.check(WatchReading(beat=1, oldest=4, **busy), 0.101)
    # A goroutine holds the thread between calls: the calls still waiting did not cause it.
    assert isinstance(stalled.error, TimeoutError) and stalled.culprit is None and "goroutine" in stalled.error.message
    # A call past its time while the loop still turns is that call's own timeout.
    slow = Watchdog("m", 100, 0.0)
    assert slow.check(WatchReading(beat=1, oldest=3, **busy), 0.0) is None
    late = slow.check(WatchReading(beat=9, oldest=3, **busy), 0.101)
    assert late.culprit == (Via.PAGE, 30) and "no answer within 100 ms" in late.error.message
    in_a_call = Watchdog("m", 100, 0.0)
    in_a_call.check(WatchReading(beat=1, current_id=9, current_via=Via.HOST), 0.0)
    assert in_a_call.check(WatchReading(beat=1, current_id=9, current_via=Via.HOST), 0.2).culprit == (Via.HOST, 9)


def test_audit_floods_reach_the_page_summarised_and_are_all_counted(make_host):
    host, events = make_host()
    for i in range(500):
        host.audit("heartbeat", "net", f"GET /secret/{i}", "E_DENIED")
    assert host.counters["E_DENIED:net"] == 500
    assert host.metrics.value("edgebox_denials_total", "heartbeat", "net") == 500
    assert len(events) == 50  # the first second's worth, with their detail
    import time

    host.watch_once(time.monotonic() + 1.5)  # the window closes: one summary for the rest
    assert len(events) == 51 and events[-1].count == 450 and "flood summarised" in events[-1].detail
