"""Sessions at once: many websocket clients, each opening a different PCN, against one `streamlit run` server, and
then against two behind a sticky balancer (each session stays on the server it was given), as docs/scaling.md runs N.

The client speaks Streamlit's own protocol on `/_stcore/stream` (a BackMsg `rerun_script` out, ForwardMsgs back until
`script_finished`), as the browser's frontend does but without drawing anything, so that two cores measure the
server and not twenty browsers. `python -m bench.concurrency [DB] [SESSIONS] [PROCESSES]` prints the figures alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .harness import WORK, Result

SESSIONS = 20
ALONE = 3  # PCNs not yet viewed opened one at a time first: a run with nothing else on the server
TARGET_P95 = 1.0  # seconds, the server's script run of a PCN not yet viewed, with every session at once
PROCESSES = 2  # app processes behind the sticky balancer, as docs/scaling.md runs them
TIMEOUT = 300  # seconds a run may take before the benchmark gives up on it: only reached when something is wrong


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    pid: int

    @property
    def stream(self) -> str:
        return self.base.replace("http://", "ws://") + "/_stcore/stream"


@dataclass
class Opened:
    """One session's first script run, as the client saw it."""
    pcn: str
    seconds: float  # the rerun request sent to `script_finished` received
    messages: int
    kilobytes: float
    exceptions: list[str]
    payload: bytes  # every message received, as sent: what the page showed is in it


@contextmanager
def serve(db_path: str | os.PathLike) -> Iterator[Server]:
    """`streamlit run app.py` on 127.0.0.1 in open demo mode, as `./run.sh app` starts it; stopped on leaving."""
    from tests.browser import started_app

    # Open demo mode, whatever access file this checkout has.
    with started_app(db_path, {"PCN_ACCESS": ""}) as (base, process, _):
        yield Server(base, process.pid)


@contextmanager
def serve_many(db_path: str | os.PathLike, count: int) -> Iterator[list[Server]]:
    """`count` servers on the same store, each its own `streamlit run` process and port; every one stopped on
    leaving, whatever happened (one failing to start stops those already started)."""
    with ExitStack() as stack:
        yield [stack.enter_context(serve(db_path)) for _ in range(count)]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident memory (`VmRSS`) or its peak (`VmHWM`), in MB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def cpu_seconds(pid: int) -> float:
    """CPU time the process (all its threads) has used so far, user and system, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


async def _connect(server: Server):
    import websockets

    # The first subprotocol is the one Streamlit selects; the XSRF token and session id entries are left out, as a
    # client without cookies sends them.
    return await websockets.connect(server.stream, subprotocols=["streamlit"], max_size=None, open_timeout=60)


async def _first_run(ws, pcn: str, query: str, page: str) -> Opened:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    request = BackMsg()
    request.rerun_script.query_string = query
    request.rerun_script.page_name = page  # a url_path of app.py's navigation; "" for the board view at `/`
    messages, received, exceptions = 0, [], []
    started = time.perf_counter()
    await ws.send(request.SerializeToString())
    while True:
        data = await asyncio.wait_for(ws.recv(), TIMEOUT)
        messages += 1
        received.append(data)
        message = ForwardMsg()
        message.ParseFromString(data)
        kind = message.WhichOneof("type")
        if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            if element.WhichOneof("type") == "exception":
                exceptions.append(f"{element.exception.type}: {element.exception.message}")
        if kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            finished = time.perf_counter()
            if message.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                exceptions.append(f"script ended with {ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)}")
            payload = b"".join(received)
            return Opened(pcn, finished - started, messages, len(payload) / 1024, exceptions, payload)


async def _sessions(servers: list[Server], pcns: list[str], page: str = "") -> tuple[list[Opened], float]:
    """Open one websocket per PCN (on `servers[i]` for `pcns[i]`), then ask for every first run at once; their runs
    and the wall time of them all."""
    sockets = await asyncio.gather(*(_connect(server) for server in servers))
    try:
        started = time.perf_counter()
        opened = await asyncio.gather(*(
            _first_run(ws, pcn, f"pcn={pcn}", page) for ws, pcn in zip(sockets, pcns)))
        wall = time.perf_counter() - started
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return list(opened), wall


def open_sessions(server: Server | list[Server], pcns: list[str], page: str = "") -> tuple[list[Opened], float]:
    """`pcns` opened by as many new sessions at once (the same code twice: two sessions on it); raises if the app
    showed an exception in any of them. Given several servers, the sessions are dealt to them in turn, as a
    sticky balancer deals new sessions round robin: session i on `server[i % len(server)]`, all its run there."""
    servers = server if isinstance(server, list) else [server]
    placed = [servers[i % len(servers)] for i in range(len(pcns))]
    # A thread of its own: asyncio.run refuses to start where an event loop is already running (Playwright's sync
    # API keeps one in the calling thread while a browser is open, as in a test process that also drives Chromium).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        opened, wall = pool.submit(asyncio.run, _sessions(placed, pcns, page)).result()
    failed = [f"{run.pcn}: {problem}" for run in opened for problem in run.exceptions]
    if failed:
        raise RuntimeError("the app failed in a session: " + "; ".join(failed[:5]))
    return opened, wall


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread_pcns(db_path: str, count: int) -> tuple[list[str], int]:
    """`count` open PCNs spread over the list (neighbours by name often share an ICB, and so its comparator), and
    how many PCNs are open."""
    from measures.queries import pcns
    from measures.store import Store

    frame = pcns(Store(db_path))
    codes = frame[frame["close_date"].isna()]["pcn"].tolist()
    step = max(1, len(codes) // count)
    return codes[::step][:count], len(codes)


def measure(db_path: str, sessions: int = SESSIONS, processes: int = PROCESSES) -> dict:
    """Start a server on `db_path`, open one PCN to load the app, then `sessions` PCNs not yet viewed at once, and
    the same PCNs again in new sessions (their queries now cached); the server's memory along the way. Then the
    same PCNs on `processes` servers (`measure_many`), when more than one."""
    codes, open_pcns = spread_pcns(db_path, sessions + 1 + ALONE)
    first, alone, fresh = codes[0], codes[1:1 + ALONE], codes[1 + ALONE:]
    distinct = len(set(fresh))
    wanted = [fresh[i % len(fresh)] for i in range(sessions)]  # the demo has fewer PCNs than sessions
    load_before, uptime_before = os.getloadavg(), _uptime()
    started = time.perf_counter()
    with serve(db_path) as server:
        idle = rss_mb(server.pid)
        (loading,), _ = open_sessions(server, [first])
        loaded = rss_mb(server.pid)
        alone_runs = [open_sessions(server, [code])[0][0] for code in alone]
        cpu = cpu_seconds(server.pid)
        cold, cold_wall = open_sessions(server, wanted)
        cold_cpu, cpu = cpu_seconds(server.pid) - cpu, cpu_seconds(server.pid)
        after_cold = rss_mb(server.pid)
        warm, warm_wall = open_sessions(server, wanted)
        warm_cpu = cpu_seconds(server.pid) - cpu
        after = rss_mb(server.pid)
        peak = rss_mb(server.pid, "VmHWM")
    figures = {"sessions": sessions, "distinct": distinct, "pcns": open_pcns, "first": loading, "alone": alone_runs,
               "cold": cold, "cold_wall": cold_wall, "cold_cpu": cold_cpu, "warm": warm, "warm_wall": warm_wall,
               "warm_cpu": warm_cpu, "idle_mb": idle, "loaded_mb": loaded, "after_cold_mb": after_cold,
               "after_mb": after, "peak_mb": peak}
    if processes > 1:
        figures["many"] = measure_many(db_path, first, wanted, processes)
    return {**figures, "seconds": time.perf_counter() - started, "load_before": load_before,
            "load_after": os.getloadavg(), "uptime_before": uptime_before}


def measure_many(db_path: str, first: str, wanted: list[str], processes: int) -> dict:
    """The same sessions on `processes` servers at once, each session sticky to the one it was dealt: every server
    loaded first by one session of `first`, then the PCNs, not yet viewed in any of them, all at the same moment."""
    with serve_many(db_path, processes) as servers:
        for server in servers:
            open_sessions(server, [first])
        before = [cpu_seconds(server.pid) for server in servers]
        opened, wall = open_sessions(servers, wanted)
        cpu = [cpu_seconds(server.pid) - used for server, used in zip(servers, before)]
        memory = [rss_mb(server.pid) for server in servers]
    by_server = [[run.seconds for run in opened[i::processes]] for i in range(processes)]
    return {"processes": processes, "runs": [run.seconds for run in opened], "wall": wall, "by_server": by_server,
            "cpu": cpu, "mb": memory}


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "uptime unavailable"


def results(figures: dict) -> list[Result]:
    n = figures["sessions"]
    cold = [run.seconds for run in figures["cold"]]
    warm = [run.seconds for run in figures["warm"]]
    size = statistics.median(run.kilobytes for run in figures["cold"])
    alone = [run.seconds for run in figures["alone"]]

    def cpu(phase: str) -> str:
        used, wall = figures[f"{phase}_cpu"], figures[f"{phase}_wall"]
        share = used / wall
        return (f"server CPU {used:,.1f} s ({used / n:,.2f} s a session), {share:.0%} of one core over the wall time"
                + (": the runs take turns in one Python process" if share < 1.2 else ""))
    kinds = (f"{figures['distinct']} different PCNs" if figures["distinct"] == n
             else f"{figures['distinct']} different PCNs, so some opened twice (the database holds no more)")
    return [
        Result(f"{n} sessions at once, each opening a PCN not yet viewed: server script run, p50", cold,
               value=percentile(cold, 0.5), note=f"{kinds}; board view (`/?pcn=`); rerun request to `script_finished`, "
                                                 f"about {size:,.0f} KB a run"),
        Result(f"{n} sessions at once, PCNs not yet viewed: server script run, p95", cold, target=TARGET_P95,
               value=percentile(cold, 0.95)),
        Result(f"{n} sessions at once, PCNs not yet viewed: wall time, first request to last run finished",
               [figures["cold_wall"]], note=cpu("cold")),
        Result("One session at a time, a PCN not yet viewed (for comparison)", alone,
               note=f"p50 of {n} at once is {percentile(cold, 0.5) / statistics.median(alone):.1f}× this"),
        Result(f"{n} new sessions at once on the same PCNs (queries cached): server script run, p50", warm,
               value=percentile(warm, 0.5)),
        Result(f"{n} new sessions at once, PCNs cached: p95", warm, value=percentile(warm, 0.95)),
        Result(f"{n} new sessions at once, PCNs cached: wall time", [figures["warm_wall"]], note=cpu("warm")),
        Result("One session alone, first run after the server started", [figures["first"].seconds],
               note="imports the pages' modules, opens the published copy, reads the hierarchy"),
        Result("Server memory (RSS) at idle, started and no session yet", [], unit="MB", value=figures["idle_mb"]),
        Result("Server memory (RSS) after its first session", [], unit="MB", value=figures["loaded_mb"]),
        Result(f"Server memory (RSS) after {n} sessions on PCNs not yet viewed", [], unit="MB",
               value=figures["after_cold_mb"],
               note=f"{figures['after_cold_mb'] - figures['loaded_mb']:+,.0f} MB on the first session's"),
        Result(f"Server memory (RSS) after {n} more sessions on the same PCNs, and its peak", [], unit="MB",
               value=figures["after_mb"], note=f"peak (VmHWM) {figures['peak_mb']:,.0f} MB"),
    ] + (many_results(figures) if "many" in figures else [])


def many_results(figures: dict) -> list[Result]:
    """The sessions not yet viewed on several servers, next to the same sessions on one."""
    n, many = figures["sessions"], figures["many"]
    k, runs = many["processes"], many["runs"]
    one = [run.seconds for run in figures["cold"]]
    per_server = "; ".join(
        f"server {i + 1}: {len(times)} sessions, p50 {percentile(times, 0.5):.2f} s, "
        f"p95 {percentile(times, 0.95):.2f} s, "
        f"CPU {used:.1f} s ({used / len(times):.2f} s a session), {mb:,.0f} MB after"
        for i, (times, used, mb) in enumerate(zip(many["by_server"], many["cpu"], many["mb"])))
    used = sum(many["cpu"])
    return [
        Result(f"{n} sessions at once on {k} app processes (sticky, dealt in turn), PCNs not yet viewed: p50", runs,
               value=percentile(runs, 0.5),
               note=f"the same PCNs as the one-process rows; one process: p50 {percentile(one, 0.5):.2f} s"),
        Result(f"{n} sessions at once on {k} app processes, PCNs not yet viewed: p95", runs, target=TARGET_P95,
               value=percentile(runs, 0.95), note=f"one process: p95 {percentile(one, 0.95):.2f} s"),
        Result(f"{n} sessions at once on {k} app processes: wall time, first request to last run finished",
               [many["wall"]],
               note=f"CPU {used:.1f} s in all ({used / n:.2f} s a session), {used / many['wall']:.0%} of one core "
                    f"over the wall time; one process: {figures['cold_wall']:.1f} s wall; {per_server}"),
        Result(f"Memory (RSS) of the {k} app processes after their sessions, in all", [], unit="MB",
               value=sum(many["mb"]), note=" + ".join(f"{mb:,.0f} MB" for mb in many["mb"])),
    ]


def note(figures: dict, scale: str) -> str:
    before = " / ".join(f"{x:.1f}" for x in figures["load_before"])
    after = " / ".join(f"{x:.1f}" for x in figures["load_after"])
    return (
        f"One `streamlit run app.py` server on 127.0.0.1 ({scale}, {figures['pcns']:,} open PCNs); "
        f"{figures['sessions']} websocket clients speaking "
        "Streamlit's protocol (`/_stcore/stream`, a `rerun_script` BackMsg and the ForwardMsgs back), each a new "
        "session, all connected first and then asking for their first run at the same moment. Nothing is drawn, so "
        "the two cores run the server, not browsers; a browser adds its own drawing on top (see \"Speed in a real "
        "browser\"). A time is the server's script run as the client sees it: the rerun request sent to "
        "`script_finished` received, on a loopback connection. One PCN is opened first so that the timings are of an "
        "app already loaded. Memory is the server process's VmRSS from /proc. Load average (1, 5, 15 min) "
        f"{before} before and {after} after, on {os.cpu_count()} cores (`uptime` before: {figures['uptime_before']}). "
        + (f"Then the same sessions on {figures['many']['processes']} `streamlit run` processes on the same published "
           "store, each loaded first by one session, the sessions dealt to them in turn as a sticky load balancer "
           "would (each session's run on the process it was dealt) and asking for their first run at the same "
           f"moment. The processes share this machine's {os.cpu_count()} cores with each other and with the "
           "clients, so this shows what a second process gains on the same cores, not what a second machine "
           "would. " if "many" in figures else "")
        + "`python -m bench concurrency` reruns it alone (`BENCH_DB=PATH` for a national demo built elsewhere); this "
        f"run took {figures['seconds']:.0f} s.")


def run(db_path: str, scale: str) -> tuple[list[Result], str]:
    figures = measure(db_path)
    return results(figures), note(figures, scale)


if __name__ == "__main__":
    import logging

    path = sys.argv[1] if len(sys.argv) > 1 else str(WORK / "national.duckdb")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else SESSIONS
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else PROCESSES
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    measured = measure(path, count, processes)
    for result in results(measured):
        print(result.row())
    print(note(measured, path))
