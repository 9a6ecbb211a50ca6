"""Where each command lives, so `main` imports only the one it runs.

Entries are ``name: (module under hako.cli.commands, Command attribute, one-line description)``.
The descriptions are here, not only in the modules, because the help listings need them all
without importing every command.
"""

from __future__ import annotations

# Top-level commands, in the order of docker's "Common Commands" then "Commands".
COMMON = {
    "run": ("run", "RUN", "Create and run a new container from an image"),
    "exec": ("exec", "EXEC", "Execute a command in a running container"),
    "ps": ("ps", "PS", "List containers"),
    "pull": ("images", "PULL", "Download an image from a registry"),
    "images": ("images", "IMAGES", "List images"),
    "version": ("system", "VERSION", "Show the hako version information"),
    "info": ("system", "INFO", "Display system-wide information"),
}

OTHERS = {
    "attach": ("attach", "ATTACH", "Attach local standard input, output, and error streams to a running container"),
    "create": ("run", "CREATE", "Create a new container"),
    "diff": ("export", "DIFF", "Inspect changes to files or directories on a container's filesystem"),
    "events": ("events", "EVENTS", "Get real time events from the server"),
    "export": ("export", "EXPORT", "Export a container's filesystem as a tar archive"),
    "history": ("images", "HISTORY", "Show the history of an image"),
    "import": ("images", "IMPORT", "Import the contents from a tarball to create a filesystem image"),
    "inspect": ("inspect", "INSPECT", "Return low-level information on hako objects"),
    "kill": ("lifecycle", "KILL", "Kill one or more running containers"),
    "logs": ("logs", "LOGS", "Fetch the logs of a container"),
    "pause": ("lifecycle", "PAUSE", "Pause all processes within one or more containers"),
    "rename": ("lifecycle", "RENAME", "Rename a container"),
    "restart": ("lifecycle", "RESTART", "Restart one or more containers"),
    "rm": ("lifecycle", "RM", "Remove one or more containers"),
    "rmi": ("images", "RMI", "Remove one or more images"),
    "start": ("start", "START", "Start one or more stopped containers"),
    "stats": ("stats", "STATS", "Display a live stream of container(s) resource usage statistics"),
    "stop": ("lifecycle", "STOP", "Stop one or more running containers"),
    "tag": ("images", "TAG", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "top": ("top", "TOP", "Display the running processes of a container"),
    "unpause": ("lifecycle", "UNPAUSE", "Unpause all processes within one or more containers"),
    "update": ("update", "UPDATE", "Update configuration of one or more containers"),
    "wait": ("lifecycle", "WAIT", "Block until one or more containers stop, then print their exit codes"),
}

TOP = {**COMMON, **OTHERS}

# Management commands: `hako container ls`, `hako image rm`, `hako system df` ...
GROUPS = {
    "container": ("Manage containers", {
        "attach": TOP["attach"],
        "create": TOP["create"],
        "diff": TOP["diff"],
        "exec": TOP["exec"],
        "export": TOP["export"],
        "inspect": ("inspect", "CONTAINER_INSPECT", "Display detailed information on one or more containers"),
        "kill": TOP["kill"],
        "logs": TOP["logs"],
        "ls": ("ps", "PS", "List containers"),
        "pause": TOP["pause"],
        "prune": ("system", "CONTAINER_PRUNE", "Remove all stopped containers"),
        "rename": TOP["rename"],
        "restart": TOP["restart"],
        "rm": TOP["rm"],
        "run": TOP["run"],
        "start": TOP["start"],
        "stats": TOP["stats"],
        "stop": TOP["stop"],
        "top": TOP["top"],
        "unpause": TOP["unpause"],
        "update": TOP["update"],
        "wait": TOP["wait"],
    }),
    "image": ("Manage images", {
        "history": TOP["history"],
        "import": TOP["import"],
        "inspect": ("inspect", "IMAGE_INSPECT", "Display detailed information on one or more images"),
        "ls": ("images", "IMAGES", "List images"),
        "prune": ("system", "IMAGE_PRUNE", "Remove unused images"),
        "pull": TOP["pull"],
        "rm": ("images", "RMI", "Remove one or more images"),
        "tag": TOP["tag"],
    }),
    "system": ("Manage hako", {
        "df": ("system", "DF", "Show hako disk usage"),
        "events": ("events", "EVENTS", "Get real time events from the server"),
        "info": ("system", "INFO", "Display system-wide information"),
        "prune": ("system", "SYSTEM_PRUNE", "Remove unused data"),
    }),
}

# Hidden second names, as docker's cobra aliases.
SUB_ALIASES = {
    "container": {"list": "ls", "ps": "ls", "remove": "rm"},
    "image": {"list": "ls", "remove": "rm", "rmi": "rm"},
    "system": {},
}


def lookup(words: list[str]):
    """Resolve the command words at the front of ``words``.

    Returns ``(path, entry, rest)``: ``path`` the words naming the command ("ps" or
    "container ls"), ``entry`` its registry tuple (None for a bare group or an unknown name),
    ``rest`` the words after the name."""
    name = words[0]
    if name in GROUPS:
        _, subs = GROUPS[name]
        if len(words) < 2 or words[1].startswith("-"):
            return name, None, words[1:]
        sub = SUB_ALIASES[name].get(words[1], words[1])
        return f"{name} {sub}", subs.get(sub), words[2:]
    return name, TOP.get(name), words[1:]
