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
    "build": ("build", "BUILD", "Build an image from a Dockerfile"),
    "pull": ("distribution", "PULL", "Download an image from a registry"),
    "push": ("distribution", "PUSH", "Upload an image to a registry"),
    "images": ("images", "IMAGES", "List images"),
    "login": ("login", "LOGIN", "Authenticate to a registry"),
    "logout": ("login", "LOGOUT", "Log out from a registry"),
    "version": ("system", "VERSION", "Show the hako version information"),
    "info": ("system", "INFO", "Display system-wide information"),
}

OTHERS = {
    "attach": ("attach", "ATTACH", "Attach local standard input, output, and error streams to a running container"),
    "cp": ("cp", "CP", "Copy files/folders between a container and the local filesystem"),
    "commit": ("build", "COMMIT", "Create a new image from a container's changes"),
    "create": ("run", "CREATE", "Create a new container"),
    "diff": ("export", "DIFF", "Inspect changes to files or directories on a container's filesystem"),
    "events": ("events", "EVENTS", "Get real time events from the server"),
    "export": ("export", "EXPORT", "Export a container's filesystem as a tar archive"),
    "history": ("images", "HISTORY", "Show the history of an image"),
    "import": ("images", "IMPORT", "Import the contents from a tarball to create a filesystem image"),
    "inspect": ("inspect", "INSPECT", "Return low-level information on hako objects"),
    "kill": ("lifecycle", "KILL", "Kill one or more running containers"),
    "load": ("archive", "LOAD", "Load an image from a tar archive or STDIN"),
    "logs": ("logs", "LOGS", "Fetch the logs of a container"),
    "pause": ("lifecycle", "PAUSE", "Pause all processes within one or more containers"),
    "port": ("network", "PORT", "List port mappings or a specific mapping for the container"),
    "rename": ("lifecycle", "RENAME", "Rename a container"),
    "restart": ("lifecycle", "RESTART", "Restart one or more containers"),
    "rm": ("lifecycle", "RM", "Remove one or more containers"),
    "rmi": ("images", "RMI", "Remove one or more images"),
    "save": ("archive", "SAVE", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
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
    "builder": ("Manage builds", {
        "build": TOP["build"],
        "prune": ("build", "BUILDER_PRUNE", "Remove build cache"),
    }),
    "container": ("Manage containers", {
        "commit": TOP["commit"],
        "attach": TOP["attach"],
        "cp": TOP["cp"],
        "create": TOP["create"],
        "diff": TOP["diff"],
        "exec": TOP["exec"],
        "export": TOP["export"],
        "inspect": ("inspect", "CONTAINER_INSPECT", "Display detailed information on one or more containers"),
        "kill": TOP["kill"],
        "logs": TOP["logs"],
        "ls": ("ps", "PS", "List containers"),
        "pause": TOP["pause"],
        "port": TOP["port"],
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
        "build": TOP["build"],
        "history": TOP["history"],
        "import": TOP["import"],
        "inspect": ("inspect", "IMAGE_INSPECT", "Display detailed information on one or more images"),
        "load": TOP["load"],
        "ls": ("images", "IMAGES", "List images"),
        "prune": ("system", "IMAGE_PRUNE", "Remove unused images"),
        "pull": TOP["pull"],
        "push": TOP["push"],
        "rm": ("images", "RMI", "Remove one or more images"),
        "save": TOP["save"],
        "tag": TOP["tag"],
    }),
    "network": ("Manage networks", {
        "connect": ("network", "CONNECT", "Connect a container to a network"),
        "create": ("network", "CREATE", "Create a network"),
        "disconnect": ("network", "DISCONNECT", "Disconnect a container from a network"),
        "inspect": ("network", "INSPECT", "Display detailed information on one or more networks"),
        "ls": ("network", "LS", "List networks"),
        "prune": ("network", "PRUNE", "Remove all unused networks"),
        "rm": ("network", "RM", "Remove one or more networks"),
    }),
    "volume": ("Manage volumes", {
        "create": ("volume", "CREATE", "Create a volume"),
        "inspect": ("volume", "INSPECT", "Display detailed information on one or more volumes"),
        "ls": ("volume", "LS", "List volumes"),
        "prune": ("volume", "PRUNE", "Remove unused local volumes"),
        "rm": ("volume", "RM", "Remove one or more volumes"),
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
    "builder": {},
    "container": {"list": "ls", "ps": "ls", "remove": "rm"},
    "image": {"list": "ls", "remove": "rm", "rmi": "rm"},
    "system": {},
    "volume": {"list": "ls", "remove": "rm"},
    "network": {"list": "ls", "remove": "rm"},
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
