"""The owner of an instance's life (edgebox._lifecycle): when it is over, why,
and what that costs each call. Pure decisions, tested without a browser."""

from edgebox import CrashedError, LimitError, PanicError, TimeoutError
from edgebox._guest_protocol import Via, WatchReading
from edgebox._lifecycle import DEBUG_TIME_LIMIT_MS, Death, Watchdog, classify_exit, panic_frames, panicked_goroutine_was_spawned, time_limit_ms
from edgebox._manifest import ModuleSpec
from edgebox._policy import Policy

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


INDEX = ("panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\n"
         "panic({0x1a2b0, 0x4c1e8})\n\truntime/panic.go:115 +0x7\n"
         "runtime.goPanicIndex(0x5, 0x3)\n\truntime/panic.go:115 +0x9\n"
         "main.(*scale).apply(0x1c0a0, 0x5)\n\tedgebox.dev/testguests/debuggee/main.go:19 +0x4\n"
         "main.pick(...)\n\tedgebox.dev/testguests/debuggee/main.go:40\n"
         "edgebox.dev/edgebox.Invoke({0x0, 0x0}, 0x1)\n\tedgebox.dev/edgebox/export.go:138 +0x2\n"
         "created by edgebox.dev/edgebox.serve in goroutine 1\n\tedgebox.dev/edgebox/serve.go:40 +0x2\n\n"
         "goroutine 2 [chan receive]:\nmain.other()\n\tother.go:1 +0x0\n")


def test_a_panic_carries_its_go_frames_from_the_panicking_one():
    frames = panic_frames(INDEX)
    # Innermost first, the runtime's own panic frames left out, one goroutine only.
    assert frames == [
        {"function": "main.(*scale).apply", "file": "edgebox.dev/testguests/debuggee/main.go", "line": 19},
        {"function": "main.pick", "file": "edgebox.dev/testguests/debuggee/main.go", "line": 40},
        {"function": "edgebox.dev/edgebox.Invoke", "file": "edgebox.dev/edgebox/export.go", "line": 138},
    ]
    error = classify_exit("m", INDEX, "2")
    assert isinstance(error, PanicError) and error.frames == frames
    assert error.to_wire()["frames"] == frames
    assert panic_frames(OWN)[0] == {"function": "main.main.func4", "file": "/src/main.go", "line": 50}
    assert panic_frames("panic: no stack") == [] and classify_exit("m", OWN, "3").frames == []
    # The SDK's report of a panic it recovered (GOOS=js): runtime/debug.Stack from the deferred function.
    recovered = ("explode: now\n\ngoroutine 6 [running]:\nruntime/debug.Stack()\n\truntime/debug/stack.go:26 +0x5\n"
                 "edgebox.dev/edgebox.handle.func1()\n\tedgebox.dev/edgebox/export.go:50 +0x3\n"
                 "panic({0x1, 0x2})\n\truntime/panic.go:785 +0x12\n"
                 "main.explode({0x5, 0x3})\n\tedgebox.dev/m/main.go:32 +0x4\n")
    assert panic_frames(recovered) == [{"function": "main.explode", "file": "edgebox.dev/m/main.go", "line": 32}]


def test_a_debug_build_has_time_for_a_paused_debugger():
    def spec(debug, **limits):
        return ModuleSpec("m", "js", "u", "0" * 64, policy=Policy.parse({"limits": limits}, "p"), debug=debug)

    release, debug = spec(False, timeout_ms=1000), spec(True, timeout_ms=1000)
    assert (time_limit_ms(release), time_limit_ms(release, "startup_ms")) == (1000, 10000)
    assert time_limit_ms(debug) == time_limit_ms(debug, "startup_ms") == DEBUG_TIME_LIMIT_MS == 15 * 60 * 1000
    # Paused at a breakpoint, the thread is held: past timeout_ms a release build is ended, a debug one is not.
    held = dict(running=1, oldest_id=3, oldest_via=Via.PAGE, taken_page=3, current_id=3, current_via=Via.PAGE)
    for module, ends in ((release, True), (debug, False)):
        dog = Watchdog("m", time_limit_ms(module), 0.0)
        dog.check(WatchReading(beat=1, oldest=1, **held), 0.0)
        assert (dog.check(WatchReading(beat=1, oldest=1, **held), 60.0) is not None) is ends
    dog = Watchdog("m", time_limit_ms(debug), 0.0)
    dog.check(WatchReading(beat=1, oldest=1, **held), 0.0)
    assert dog.check(WatchReading(beat=1, oldest=1, **held), DEBUG_TIME_LIMIT_MS / 1000 + 1) is not None


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
