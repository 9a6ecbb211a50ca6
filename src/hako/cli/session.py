"""An interactive stream session: terminal, resize, signals and the byte pump together.

`run`, `start -a`, `attach` and `exec` all end up here once they hold a hijacked socket::

    session = Session(cli, sock, leftover, tty=True, stdin=True,
                      resize_path="/containers/ID/resize", kill_path="/containers/ID/kill")
    detached = session.run()      # True when the user typed the detach keys

What it does, as docker's hijackedIOStreamer and MonitorTtySize do:

- with a TTY and stdin attached: the local terminal goes raw for the session (restored always);
  the detach keys are matched on the client (default Ctrl-P Ctrl-Q);
- with a TTY: a resize call with the terminal size after start, and again on every SIGWINCH;
- with sig-proxy: SIGINT, SIGTERM … received by hako are sent on to the container with the
  ``kill`` endpoint;
- without stdin attached the write side is closed at once; with stdin, when it ends.
"""

from __future__ import annotations

from hako.client.detach import DEFAULT_DETACH_KEYS, Detached, EscapeMatcher, parse_detach_keys
from hako.client.errors import ClientError
from hako.client.hijack import pump

from .terminal import PROXIED_SIGNALS, RawTerminal, SignalPipe, signal_name, terminal_size


class Session:
    def __init__(self, cli, sock, leftover: bytes, *, tty: bool, stdin: bool,
                 resize_path: str | None = None, kill_path: str | None = None,
                 detach_keys: str = "", nudge: bool = False) -> None:
        self.cli = cli
        self.sock = sock
        self.leftover = leftover
        self.tty = tty
        self.stdin = stdin
        self.resize_path = resize_path if tty else None
        self.kill_path = kill_path
        self.detach_keys = detach_keys
        self.nudge = nudge  # attach's h+1,w+1 then h,w, which makes full-screen apps redraw

    def run(self) -> bool:
        """Pump until the daemon closes the stream; True if the user detached."""
        cli = self.cli
        escape = None
        if self.tty and self.stdin:
            escape = EscapeMatcher(self._escape_keys())
        signals = []
        if self.resize_path:
            signals.append("SIGWINCH")
        if self.kill_path:
            signals.extend(PROXIED_SIGNALS)
        pipe = SignalPipe(signals) if signals else None
        raw = RawTerminal(cli.stdin_fd) if (self.tty and self.stdin) else None
        try:
            if raw is not None:
                raw.__enter__()
            if self.resize_path:
                self.resize(initial=True)
            pump(self.sock, self.leftover, out_fd=cli.out.fd, err_fd=cli.err.fd, tty=self.tty,
                 stdin_fd=cli.stdin_fd if self.stdin else None, escape=escape,
                 wakeup_fd=pipe.fd if pipe else None,
                 on_wakeup=(lambda: self._on_signals(pipe.pending())) if pipe else None)
            return False
        except Detached:
            return True
        finally:
            if raw is not None:
                raw.restore()
            if pipe is not None:
                pipe.close()
            self.sock.close()

    def resize(self, initial: bool = False) -> None:
        height, width = terminal_size(self.cli.out.fd)
        try:
            if initial and self.nudge:  # sent even for a 0x0 terminal, as docker does
                self._post(self.resize_path, {"h": str(height + 1), "w": str(width + 1)})
            if height or width:
                self._post(self.resize_path, {"h": str(height), "w": str(width)})
        except ClientError:
            pass  # docker only logs failed resizes

    def _on_signals(self, signums) -> None:
        import _signal
        for signum in signums:
            if signum == _signal.SIGWINCH:
                if self.resize_path:
                    self.resize()
            elif self.kill_path:
                try:
                    self._post(self.kill_path, {"signal": signal_name(signum)})
                except ClientError:
                    pass

    def _post(self, path: str, query: dict) -> None:
        self.cli.client.post(path, query)

    def _escape_keys(self) -> bytes:
        if self.detach_keys:
            try:
                return parse_detach_keys(self.detach_keys)
            except ValueError as exc:
                # docker warns and falls back to the default sequence
                self.cli.err.write(f"WARNING: invalid detach escape keys, using default: {exc}\n")
        return parse_detach_keys(DEFAULT_DETACH_KEYS)


def attach_query(stdin: bool, stdout: bool, stderr: bool, detach_keys: str = "") -> dict:
    """The attach endpoint's query, keys in the order Go's url.Values sorts them."""
    query = {}
    if detach_keys:
        query["detachKeys"] = detach_keys
    if stderr:
        query["stderr"] = "1"
    if stdin:
        query["stdin"] = "1"
    if stdout:
        query["stdout"] = "1"
    query["stream"] = "1"
    return query
