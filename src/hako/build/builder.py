"""The step executor: a parsed Dockerfile and a build context in, an image out, as Docker's
classic builder makes it.

    builder = Builder(engine, context, BuildOptions(tags=["app:1"]), emit)
    image = await builder.run()       # emit({"stream": "Step 1/4 : FROM busybox\\n"}) … as it goes

Each step starts from the previous step's image (its config and top layer) and makes the next:
metadata steps (ENV, CMD, LABEL …, see metadata.py) change the config and add an `empty_layer`
history entry; RUN runs the command in a real container made from the previous image through the engine's
container manager, then commits the container's changes as a layer; COPY and ADD write their
layer tar straight from the context. Every step's result is cached (see cache.py), so a rebuild
is a chain of lookups until the first step whose inputs changed.

Intermediate containers, snapshots and mounts are always removed, whether the step worked or
not; a failed build leaves only the cache entries of the steps that succeeded.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import posixpath
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field

from .. import __version__ as HAKO_VERSION
from ..errdefs import HakoError, NotFound
from ..images.store import go_arch, now_rfc3339
from . import copying, fetch, metadata
from .cache import BuildCache, CachedStep, step_key
from .context import BuildContext
from .dockerfile import Instruction, Stage, parse, _instruction
from .errors import BuildError
from .metadata import METADATA_INSTRUCTIONS, StepContext, metadata_step
from .shellwords import process_word, split_words
from .sources import DirSource

log = logging.getLogger(__name__)

DEFAULT_SHELL = ["/bin/sh", "-c"]
# Docker's predefined build args: usable without an ARG line, and left out of the history.
PREDEFINED_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                   "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}


@dataclass
class BuildOptions:
    dockerfile: str = "Dockerfile"
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str | None] = field(default_factory=dict)
    target: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    pull: bool = False
    remove: bool = True          # intermediate containers are removed whatever these say
    force_remove: bool = False
    quiet: bool = False
    network_mode: str = "default"
    cache_from: list[str] = field(default_factory=list)
    limits: dict = field(default_factory=dict)      # HostConfig fields for RUN containers (memory …)


@dataclass
class StageState:
    """Where a stage is: the image its next step starts from."""
    config: dict                          # the whole image config
    top: str | None                       # chain id of its top layer
    image_id: str                         # what cache keys chain on: the config's digest
    args: dict[str, str | None] = field(default_factory=dict)    # ARGs in scope
    cmd_set: bool = False

    @property
    def run(self) -> dict:
        return self.config.setdefault("config", {})

    @property
    def shell(self) -> list[str]:
        return list(self.run.get("Shell") or DEFAULT_SHELL)

    def env(self) -> dict[str, str]:
        """What `$VAR` means here: build args, overridden by the image's Env."""
        values = {k: v for k, v in self.args.items() if v is not None}
        for item in self.run.get("Env") or []:
            key, _, value = item.partition("=")
            values[key] = value
        return values


class Builder:
    def __init__(self, engine, context: BuildContext, options: BuildOptions, emit, client_gone=lambda: False):
        """``emit(message)`` sends a stream message; ``client_gone()`` says the client left, which
        stops a RUN that prints nothing (a write would tell, but there is none to make)."""
        self.client_gone = client_gone
        self.engine = engine
        self.context = context
        self.options = options
        self.emit = emit
        self.cache = BuildCache(engine.store)
        self.stages: list[StageState] = []
        self.stage_names: dict[str, int] = {}
        self.used_args: set[str] = set()
        self.step = 0
        self.total = 0
        self.escape = "\\"
        self.meta: dict[str, str | None] = {}     # the ARGs before the first FROM
        self.hits: list[str] = []                 # cache keys used, marked as used at the end

    async def say(self, text: str) -> None:
        if not self.options.quiet:
            await self.emit({"stream": text})

    # ---- the build -------------------------------------------------------------------------------

    async def run(self):
        for tag in self.options.tags:
            from ..images import reference

            reference.parse(tag)
        text = self.context.dockerfile(self.options.dockerfile)
        dockerfile = parse(text)
        self.escape = dockerfile.escape
        stages = dockerfile.stages
        if self.options.target:
            names = [s.name for s in stages]
            if self.options.target.lower() not in names:
                raise BuildError(f"failed to reach build target {self.options.target} in Dockerfile")
            stages = stages[:names.index(self.options.target.lower()) + 1]
        if self.options.labels:
            pairs = " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in sorted(self.options.labels.items()))
            stages[-1].instructions.append(Instruction("LABEL", pairs, f"LABEL {pairs}", 0))
        self.total = len(dockerfile.meta_args) + sum(1 + len(s.instructions) for s in stages)
        meta = self.meta
        for ins in dockerfile.meta_args:
            await self._announce(ins.original)
            self._declare_args(ins, meta, meta)
        state = None
        for stage in stages:
            state = await self._from(stage, meta)
            for ins in stage.instructions:
                await self._announce(ins.original)
                await self._dispatch(state, ins)
            self.stages.append(state)
            if stage.name:
                self.stage_names[stage.name] = stage.index
        self.cache.touch(self.hits)
        unused = sorted(k for k in self.options.build_args if k not in self.used_args and k not in PREDEFINED_ARGS)
        if unused:
            await self.say(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        return await self._finish(state)

    async def _announce(self, original: str) -> None:
        self.step += 1
        await self.say(f"Step {self.step}/{self.total} : {original}")
        await self.say("\n")

    async def _finish(self, state: StageState):
        if state.image_id == "scratch" or state.top is None and not state.config.get("history"):
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        images = self.engine.images
        image = images.images.get(state.image_id)
        if image is None or image.config != state.config:
            # (a Dockerfile that is only `FROM x` gives x itself, as Docker does)
            image = images.add_config_bytes(_config_bytes(state.config), state.top)
        await self.emit({"aux": {"ID": image.id}})
        if self.options.quiet:
            await self.emit({"stream": image.id + "\n"})
        else:
            await self.say(f"Successfully built {image.id[7:19]}\n")
        for tag in self.options.tags:
            name = images.tag(image, tag)
            self.engine.events.emit("image", "tag", image.id, name=name)
            await self.say(f"Successfully tagged {name}\n")
        return image

    # ---- FROM ------------------------------------------------------------------------------------

    async def _from(self, stage: Stage, meta: dict[str, str | None]) -> StageState:
        await self._announce(stage.original)
        env = {k: v for k, v in meta.items() if v is not None}
        base = process_word(stage.base, env, self.escape)
        if not base:
            raise BuildError("base name (" + stage.base + ") should not be blank")
        if base.lower() in self.stage_names:
            source = self.stages[self.stage_names[base.lower()]]
            state = StageState(copy.deepcopy(source.config), source.top, source.image_id)
        elif base == "scratch":
            config = {"architecture": go_arch(), "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []},
                      "history": []}
            state = StageState(config, None, "scratch")
        else:
            image = await self._base_image(base)
            if stage.platform:
                _check_platform(base, process_word(stage.platform, env, self.escape), image.config)
            state = StageState(copy.deepcopy(image.config), image.top, image.id)
        state.config.setdefault("config", {})
        await self.say(f" ---> {_short(state.image_id)}\n")
        triggers = state.run.get("OnBuild") or []
        if triggers:
            await self.say(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            state.run["OnBuild"] = None
            for trigger in triggers:
                await self._dispatch(state, _instruction(trigger, stage.line, self.escape))
        return state

    async def _base_image(self, name: str):
        images = self.engine.images
        image = images.find(name)
        if image is not None and not self.options.pull:
            return image
        distribution = getattr(self.engine, "distribution", None)
        if distribution is not None:
            try:
                await distribution.pull(name, None, None)
            except HakoError as exc:
                if image is None:
                    # the distribution's own words (pull access denied, manifest unknown …), with
                    # the image named, as Docker's "manifest for x not found: …"
                    if name in str(exc):
                        raise
                    raise type(exc)(f"manifest for {name} not found: {exc}") from None
            found = images.find(name)
            if found is not None:
                return found
        if image is not None:
            return image
        from ..images import reference

        repo = reference.parse(name).repository
        raise NotFound(f"pull access denied for {repo}, repository does not exist or may require 'docker login': "
                       f"no image {name} here and none could be pulled")

    # ---- dispatch --------------------------------------------------------------------------------

    async def _dispatch(self, state: StageState, ins: Instruction) -> None:
        if ins.cmd in METADATA_INSTRUCTIONS:
            step = metadata_step(ins, StepContext(state.env(), state.shell, state.cmd_set, self.escape))
            if ins.cmd == "CMD":
                state.cmd_set = True
            await self._metadata(state, step.comment, step.change)
            return
        handler = {"ARG": self._do_arg, "WORKDIR": self._do_workdir, "COPY": self._do_copy, "ADD": self._do_add,
                   "RUN": self._do_run}[ins.cmd]
        await handler(state, ins)

    async def _metadata(self, state: StageState, comment: str, change) -> None:
        """A step that only changes the config: Docker's `#(nop)` history line, no layer."""
        created_by = " ".join(state.shell) + " #(nop)  " + comment
        await self._commit(state, created_by, change=change)

    async def _commit(self, state: StageState, created_by: str, *, change=None, make_layer=None,
                      content: str = "") -> None:
        """Make the step's image from ``state``, or find it in the cache: ``change`` edits the
        config, ``make_layer(state)`` returns (layer or None, container id, a created_by line
        known only once the step ran, or None); ``content`` joins the cache key (COPY sources)."""
        key = step_key(state.image_id, created_by, content)
        hit = None if self.options.no_cache else self.cache.get(key)
        if hit is not None and hit.top is not None and self.engine.layers.get(hit.top) is None:
            hit = None       # its layer is gone (collected by hand?): make the step again
        if hit is not None:
            await self.say(" ---> Using cache\n")
            self.hits.append(key)
            self._adopt(state, hit)
            await self.say(f" ---> {_short(state.image_id)}\n")
            return
        config = copy.deepcopy(state.config)
        run = config.setdefault("config", {})
        if change is not None:
            change(config)
        reused = self._from_cache_images(state, config, created_by) if self.options.cache_from else None
        if reused is not None:
            await self.say(" ---> Using cache\n")
            self.cache.put(key, reused.config_bytes, reused.top)
            self._adopt(state, reused)
            await self.say(f" ---> {_short(state.image_id)}\n")
            return
        layer, container_id = None, ""
        if make_layer is not None:
            layer, container_id, described = await make_layer(state)
            created_by = described or created_by
        created = now_rfc3339()
        entry = {"created": created, "created_by": created_by}
        if layer is None:
            entry["empty_layer"] = True
        config.setdefault("history", []).append(entry)
        config["created"] = created
        config["container_config"] = {**run, "Cmd": _nop_cmd(created_by, run)}
        config["docker_version"] = f"hako-{HAKO_VERSION}"
        if container_id:
            config["container"] = container_id
        else:
            config.pop("container", None)
        top = state.top
        if layer is not None:
            config.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(layer.diff_id)
            top = layer.chain_id
        config_bytes = _config_bytes(config)
        self.cache.put(key, config_bytes, top)
        self._adopt(state, CachedStep(config_bytes, top))
        await self.say(f" ---> {_short(state.image_id)}\n")

    def _from_cache_images(self, state: StageState, config: dict, created_by: str) -> CachedStep | None:
        """--cache-from: an image whose history continues the parent's with this very step
        (Docker's classic rule) gives the step's layer; the config is this build's own."""
        history = state.config.get("history") or []
        diff_ids = (state.config.get("rootfs") or {}).get("diff_ids") or []
        from ..snapshots.model import chain_id as make_chain_id

        for name in self.options.cache_from:
            image = self.engine.images.find(name)
            if image is None:
                continue
            other = image.config
            other_history = other.get("history") or []
            other_diffs = (other.get("rootfs") or {}).get("diff_ids") or []
            n = len(history)
            if len(other_history) <= n or other_diffs[:len(diff_ids)] != diff_ids:
                continue
            if any(_history_key(a) != _history_key(b) for a, b in zip(history, other_history)):
                continue
            entry = other_history[n]
            if entry.get("created_by") != created_by:
                continue
            top = state.top
            new_diffs = list(diff_ids)
            if not entry.get("empty_layer"):
                if len(other_diffs) <= len(diff_ids):
                    continue
                new_diffs.append(other_diffs[len(diff_ids)])
                top = make_chain_id(state.top, new_diffs[-1])
                if self.engine.layers.get(top) is None:
                    continue
            config["history"] = history + [entry]
            config["created"] = entry.get("created") or config.get("created")
            config.setdefault("rootfs", {"type": "layers"})["diff_ids"] = new_diffs
            return CachedStep(_config_bytes(config), top)
        return None

    def _adopt(self, state: StageState, step: CachedStep) -> None:
        state.config = json.loads(step.config_bytes)
        state.top = step.top
        state.image_id = step.image_id

    # ---- ARG and WORKDIR ------------------------------------------------------------------------

    async def _do_arg(self, state: StageState, ins: Instruction) -> None:
        declared = self._declare_args(ins, state.args, self.meta, state.env())
        comment = "ARG " + " ".join(f"{k}={v}" if v is not None else k for k, v in declared)
        await self._metadata(state, comment, None)

    def _declare_args(self, ins: Instruction, scope: dict, meta: dict, env: dict | None = None) -> list[tuple[str, str | None]]:
        """ARG NAME[=default] …: the build arg's value if given, else the default (expanded),
        else the value the meta ARG (before FROM) had."""
        env = dict(env if env is not None else {k: v for k, v in scope.items() if v is not None})
        declared = []
        for word in split_words(ins.args, self.escape):
            name, eq, default = word.partition("=")
            default_value = process_word(default, env, self.escape) if eq else None
            self.used_args.add(name)
            if self.options.build_args.get(name) is not None:
                value = self.options.build_args[name]
            elif default_value is not None:
                value = default_value
            else:
                value = meta.get(name)
            scope[name] = value
            if value is not None:
                env[name] = value
            declared.append((name, default_value))
        return declared

    async def _do_workdir(self, state: StageState, ins: Instruction) -> None:
        path = process_word(ins.args, state.env(), self.escape)
        if not path.startswith("/"):
            path = posixpath.join(state.run.get("WorkingDir") or "/", path)
        path = posixpath.normpath(path)
        view = self._view(state)
        missing = []
        current = ""
        for part in path.strip("/").split("/"):
            current = posixpath.join(current, part) if current else part
            if part and not view.is_dir(current):
                missing.append(current)

        def change(config: dict) -> None:
            config.setdefault("config", {})["WorkingDir"] = path

        async def make_layer(_state):
            return await asyncio.to_thread(self._dirs_layer, state, missing), "", None
        created_by = " ".join(state.shell) + " #(nop) WORKDIR " + path
        await self._commit(state, created_by, change=change, make_layer=make_layer if missing else None)

    def _dirs_layer(self, state: StageState, dirs: list[str]):
        import tarfile

        with tempfile.NamedTemporaryFile(dir=self.engine.spool_dir(), prefix="build-layer-") as out:
            with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for d in dirs:
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                    tar.addfile(info)
            out.flush()
            return self.engine.add_layer(out.name, state.top)

    def _view(self, state: StageState) -> copying.ImageView:
        return copying.ImageView(self.engine.layers.lower_dirs(state.top) if state.top else [])

    # ---- COPY and ADD ----------------------------------------------------------------------------

    async def _do_copy(self, state: StageState, ins: Instruction) -> None:
        await self._copy(state, ins, is_add=False)

    async def _do_add(self, state: StageState, ins: Instruction) -> None:
        await self._copy(state, ins, is_add=True)

    async def _copy(self, state: StageState, ins: Instruction, is_add: bool) -> None:
        env = state.env()
        args = metadata.words(ins, StepContext(env, state.shell, state.cmd_set, self.escape))
        sources, dest = args[:-1], args[-1]
        if not dest.startswith("/"):
            workdir = state.run.get("WorkingDir") or "/"
            dest = posixpath.join(workdir, dest) + ("/" if dest.endswith("/") or dest in (".", "./") else "")
        chown = process_word(str(ins.flags["chown"]), env, self.escape) if ins.flags.get("chown") else ""
        chmod = None
        if ins.flags.get("chmod"):
            try:
                chmod = int(str(ins.flags["chmod"]), 8)
            except ValueError:
                raise BuildError(f"invalid chmod parameter: {ins.flags['chmod']}") from None
        view = self._view(state)
        owner = copying.resolve_owner(chown, view) if chown else None
        heredocs = {h.name: h for h in ins.heredocs}
        source_from = str(ins.flags.get("from") or "")
        if source_from and is_add:
            raise BuildError("ADD does not support the --from flag")
        cmd = "ADD" if is_add else "COPY"
        flags = "".join(f" --{k}={v}" for k, v in sorted(ins.flags.items()) if k in ("chown", "chmod"))
        prefix = f"{' '.join(state.shell)} #(nop) {cmd}"

        def described(plan) -> str:
            return f"{prefix}{flags} {plan.summary} in {dest} "

        if source_from:
            # Another stage or image: its id says all about its content, so a cache hit needs
            # neither a mount nor hashing; both happen only when the step runs.
            name = process_word(source_from, env, self.escape)
            top, from_id = await self._source_image(name)
            flags += f" --from={source_from}"

            async def make_layer(_state):
                key = "build-src-" + secrets.token_hex(8)
                try:
                    await asyncio.to_thread(self._mount, key, top)
                    plan = await asyncio.to_thread(copying.plan_copy, DirSource(self._mounted(key)), sources, dest,
                                                   view, is_add=False, cmd=cmd, read_content=False)
                    layer = await asyncio.to_thread(self._copy_layer, state, plan, DirSource(self._mounted(key)),
                                                    view, owner, chmod)
                finally:
                    await asyncio.shield(asyncio.to_thread(self.engine.layers.remove_rw, key))
                return layer, "", described(plan)
            key_text = f"{prefix}{flags} {json.dumps(sources)} in {dest} from {from_id}"
            await self._commit(state, key_text, make_layer=make_layer)
            return
        source, excluded, heredoc_dir = self.context.source, self.context.excluded, None
        try:
            urls = [s for s in sources if fetch.is_url(s)]
            if urls and not is_add:
                raise BuildError(f"COPY failed: source can't be a URL for COPY: {urls[0]}")
            checksum = str(ins.flags.get("checksum") or "")
            if checksum and (len(urls) != 1 or len(sources) != 1):
                raise BuildError("checksum can't be specified for non-HTTP(S) sources")
            if urls:
                if len(urls) != len(sources):
                    raise BuildError("ADD failed: hako does not mix URL and local sources in one ADD")
                heredoc_dir = tempfile.mkdtemp(dir=self.engine.spool_dir(), prefix="heredoc-")
                sources = await self._download(urls, heredoc_dir)
                if checksum:
                    await asyncio.to_thread(_verify_checksum, os.path.join(heredoc_dir, sources[0]), checksum)
                source, excluded, is_add = DirSource(heredoc_dir), (lambda rel: False), False
            elif heredocs:
                heredoc_dir = tempfile.mkdtemp(dir=self.engine.spool_dir(), prefix="heredoc-")
                for name, doc in heredocs.items():
                    content = process_word(doc.content, env, self.escape) if doc.expand else doc.content
                    with open(os.path.join(heredoc_dir, name), "w") as f:
                        f.write(content)
                sources = [s[2:].lstrip("-").strip("'\"") if s.startswith("<<") else s for s in sources]
                source, excluded = DirSource(heredoc_dir), (lambda rel: False)
            plan = await asyncio.to_thread(copying.plan_copy, source, sources, dest, view, is_add=is_add,
                                           excluded=excluded, cmd=cmd)

            async def make_layer(_state):
                return await asyncio.to_thread(self._copy_layer, state, plan, source, view, owner, chmod), "", None
            await self._commit(state, described(plan), make_layer=make_layer, content=plan.digest)
        finally:
            if heredoc_dir:
                shutil.rmtree(heredoc_dir, ignore_errors=True)

    async def _download(self, urls: list[str], directory: str) -> list[str]:
        """ADD <URL>: each file as Docker keeps it, mode 600, its Last-Modified as mtime, never
        unpacked; named after the URL's last path component."""
        names = []
        for url in urls:
            name = fetch.url_basename(url)
            path = os.path.join(directory, name)
            await self.say(f"Downloading {url}\n")
            _type, mtime = await fetch.download(url, path, what="download")
            os.chmod(path, 0o600)
            if mtime:
                os.utime(path, (mtime, mtime))
            names.append(name)
        return names

    def _copy_layer(self, state: StageState, plan, source, view, owner, chmod):
        with tempfile.NamedTemporaryFile(dir=self.engine.spool_dir(), prefix="build-layer-") as out:
            copying.write_layer(plan, out, source, view, owner, chmod)
            out.flush()
            return self.engine.add_layer(out.name, state.top)

    def _mount(self, key: str, top: str | None) -> None:
        """A private snapshot of a stage's or image's root, to read COPY --from sources in; the
        caller removes it (remove_rw), whether this got to the end or not."""
        layers = self.engine.layers
        layers.prepare(key, top)
        layers.mount(key)

    def _mounted(self, key: str) -> str:
        return os.path.join(self.engine.layers.rw_dir, key, "merged")

    async def _source_image(self, name: str) -> tuple[str | None, str]:
        """COPY --from: an earlier stage (by name or index) or an image: (top layer, image id)."""
        if name.lower() in self.stage_names:
            source = self.stages[self.stage_names[name.lower()]]
            return source.top, source.image_id
        if name.isdigit():
            index = int(name)
            if index >= len(self.stages):
                raise BuildError(f"invalid from flag value {name}: refers to current or future build stage")
            return self.stages[index].top, self.stages[index].image_id
        try:
            image = await self._base_image(name)
        except HakoError as exc:
            raise BuildError(f"invalid from flag value {name}: {exc}") from None
        return image.top, image.id

    # ---- RUN -------------------------------------------------------------------------------------

    async def _do_run(self, state: StageState, ins: Instruction) -> None:
        if ins.json_args is not None:
            argv = list(ins.json_args)
        elif len(ins.heredocs) == 1 and re.fullmatch(r"<<-?\s*(['\"]?)" + ins.heredocs[0].name + r"\1", ins.args.strip()):
            argv = state.shell + [ins.heredocs[0].content]      # `RUN <<EOF`: the body is the script
        elif ins.heredocs:
            body = "".join(f"{h.content}{h.name}\n" for h in ins.heredocs)
            argv = state.shell + [f"{ins.args}\n{body}"]
        else:
            argv = state.shell + [ins.args]
        env_names = {e.partition("=")[0] for e in state.run.get("Env") or []}
        build_env = sorted(f"{k}={v}" for k, v in state.args.items()
                           if v is not None and k not in env_names and not (k in PREDEFINED_ARGS and k not in self.options.build_args))
        shown = [k for k in build_env if k.partition("=")[0] not in PREDEFINED_ARGS]
        created_by = " ".join(([f"|{len(shown)}", *shown] if shown else []) + argv)
        network = str(ins.flags.get("network") or self.options.network_mode or "default")

        async def make_layer(current: StageState):
            return await self._run_container(current, argv, build_env, network)
        await self._commit(state, created_by, make_layer=make_layer)

    async def _run_container(self, state: StageState, argv: list[str], build_env: list[str], network: str):
        from ..containers.logs import LogFollower
        from ..containers.model import Container, ContainerConfig, HostConfig

        engine = self.engine
        images = engine.images
        config_bytes = _config_bytes(state.config)
        known = state.image_id in images.images
        image = images.add_config_bytes(config_bytes, state.top) if not known else images.images[state.image_id]
        run = state.run
        env = list(run.get("Env") or [])
        env += build_env
        container = None
        try:
            spec = Container(id="", name="", image_id=image.id,
                             config=ContainerConfig(image=image.id, cmd=argv, entrypoint=[], env=env,
                                                    working_dir=run.get("WorkingDir") or "", user=run.get("User") or "",
                                                    labels={}),
                             host_config=HostConfig(network_mode="default" if network in ("", "default", "bridge") else network,
                                                    **self.options.limits))
            container, _warnings = engine.containers.create(None, spec)
            await self.say(f" ---> Running in {container.id[:12]}\n")
            code = await self._run_streaming(container, LogFollower)
            if code != 0:
                raise BuildError(f"The command '{' '.join(argv)}' returned a non-zero code: {code}")
            layer = await asyncio.to_thread(engine.snapshot_layer, container.id)
            return layer, container.id, None
        finally:
            if container is not None:
                try:
                    # shielded: a build cancelled mid-step still removes what the step made
                    await asyncio.shield(engine.containers.remove(container, force=True, remove_volumes=True))
                except HakoError as exc:
                    log.warning("build: removing intermediate container %s: %s", container.id[:12], exc)
                await self.say(f"Removing intermediate container {container.id[:12]}\n")
            if not known and image.id in images.images and not any(
                    c.image_id == image.id for c in engine.containers.containers.values()):
                images.remove(image.id, True, {})

    async def _run_streaming(self, container, follower_class) -> int:
        engine = self.engine
        follower = follower_class(container.log_path)
        waiter = asyncio.ensure_future(engine.containers.wait(container, "next-exit"))
        try:
            await asyncio.sleep(0)         # the waiter is registered before the process can exit
            await engine.containers.start(container)
            while True:
                done, _ = await asyncio.wait([waiter], timeout=0.05)
                for entry in await asyncio.to_thread(follower.poll):
                    await self.say(entry.data.decode("utf-8", "replace"))
                if done:
                    break
                if self.client_gone():
                    raise ConnectionResetError("the client went away")
            for entry in await asyncio.to_thread(follower.poll):
                await self.say(entry.data.decode("utf-8", "replace"))
            return waiter.result()
        finally:
            follower.close()
            if not waiter.done():
                waiter.cancel()


def _config_bytes(config: dict) -> bytes:
    return json.dumps(config, separators=(",", ":")).encode()


def _check_platform(name: str, wanted: str, config: dict) -> None:
    """FROM --platform: hako runs the host's platform only; an image for another one is refused
    as Docker refuses a local image that does not match."""
    os_name, _, arch = wanted.partition("/")
    arch = arch.split("/")[0]
    actual = f"{config.get('os', 'linux')}/{config.get('architecture', go_arch())}"
    if os_name != config.get("os", "linux") or (arch and arch != config.get("architecture", go_arch())):
        raise BuildError(f"image with reference {name} was found but does not match the specified platform: "
                         f"wanted {wanted}, actual: {actual}")


def _verify_checksum(path: str, expected: str) -> None:
    """ADD --checksum=sha256:<hex> of a downloaded file."""
    import hashlib

    algorithm, _, want = expected.partition(":")
    if algorithm not in ("sha256", "sha384", "sha512") or not want:
        raise BuildError(f"unsupported checksum {expected!r}: use sha256:<hex>")
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    if h.hexdigest() != want.lower():
        raise BuildError(f"digest mismatch {algorithm}:{h.hexdigest()}: {expected}")


def _history_key(entry: dict) -> tuple[str, bool]:
    return entry.get("created_by") or "", bool(entry.get("empty_layer"))


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _nop_cmd(created_by: str, run: dict) -> list[str]:
    shell = list(run.get("Shell") or DEFAULT_SHELL)
    prefix = " ".join(shell) + " "
    if created_by.startswith(prefix):
        return shell + [created_by[len(prefix):]]
    return [created_by]
