"""What /proc says about a server on 127.0.0.1: which processes hold its listening
sockets, which process serves each client connection, how much memory each uses."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

_LISTEN, _ESTABLISHED = "0A", "01"


def _tcp_rows(port: int, state: str) -> Iterable[tuple[int, str]]:
    """(remote port, socket inode link) of the IPv4 sockets on local ``port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            yield int(fields[2].split(":")[1], 16), f"socket:[{fields[9]}]"


def _sockets_of(pid: int) -> set[str]:
    try:
        return {str(fd.readlink()) for fd in Path(f"/proc/{pid}/fd").iterdir()}
    except OSError:  # the process ended meanwhile
        return set()


def listening_pids(port: int) -> set[int]:
    """Processes holding a listening socket of ``port``."""
    inodes = {inode for _, inode in _tcp_rows(port, _LISTEN)}
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return {pid for pid in pids if _sockets_of(pid) & inodes}


def parent_of(pid: int) -> int | None:
    """The parent's pid, None once the process has ended."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:  # the process ended meanwhile
        return None


def server_workers(port: int) -> set[int]:
    """The worker processes of a ``wordlens serve`` on ``port`` (not its supervisor)."""
    pids = listening_pids(port)
    return {pid for pid in pids if parent_of(pid) in pids}


def connection_owners(port: int, client_ports: Iterable[int], pids: Iterable[int]) -> list:
    """For each client port connected to ``port``, the pid among ``pids`` serving it
    (None if none does)."""
    inode_of = dict(_tcp_rows(port, _ESTABLISHED))
    owner = {inode: pid for pid in pids for inode in _sockets_of(pid)}
    return [owner.get(inode_of.get(client_port, "")) for client_port in client_ports]


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")


def children_of(pid: int) -> set[int]:
    """Processes whose parent is ``pid``."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return {child for child in pids if parent_of(child) == pid}


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def mapped_rss_kib(path: Path) -> int:
    """Resident KiB of this process's memory maps of the file ``path``."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].endswith(":"):  # a mapping's header line
            inside = len(fields) >= 6 and fields[-1] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total
