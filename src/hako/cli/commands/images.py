"""Image commands: images (image ls), rmi (image rm), tag, import, history (pull is in
distribution.py)."""

from __future__ import annotations

import os

from ..command import Command, StatusError, at_least, at_most, between, exactly
from ..flags import BOOL, LIST, STRING, Flag
from ..formatter import render_rows
from ..gofmt import truncate_id
from ..reference import familiar, full_name, split_reference
from ..units import go_rfc3339, go_time_string, human_size, time_ago
from .common import FORMAT_HELP, parse_filters


# -- images -----------------------------------------------------------------------------------

class ImageRow:
    """One line of `hako images`: docker's placeholders as attributes."""

    GO_TYPE = "*formatter.imageContext"  # the type docker's template errors name

    def __init__(self, summary: dict, repo: str, tag: str, digest: str, trunc: bool) -> None:
        self.s = summary
        self.Repository = repo
        self.Tag = tag
        self.Digest = digest
        self.trunc = trunc

    @property
    def ID(self) -> str:
        return truncate_id(self.s["Id"]) if self.trunc else self.s["Id"]

    @property
    def CreatedSince(self) -> str:
        created = self.s.get("Created") or 0
        return time_ago(created) if created else "N/A"

    @property
    def CreatedAt(self) -> str:
        return go_time_string(self.s.get("Created") or 0)

    @property
    def Size(self) -> str:
        return human_size(self.s.get("Size", 0))

    @property
    def VirtualSize(self) -> str:
        return human_size(self.s.get("VirtualSize", self.s.get("Size", 0)), 4)

    @property
    def SharedSize(self) -> str:
        shared = self.s.get("SharedSize", -1)
        return "N/A" if shared is None or shared < 0 else human_size(shared)

    @property
    def UniqueSize(self) -> str:
        shared = self.s.get("SharedSize", -1)
        if shared is None or shared < 0:
            return "N/A"
        return human_size(self.s.get("Size", 0) - shared)

    @property
    def Containers(self) -> str:
        count = self.s.get("Containers", -1)
        return "N/A" if count is None or count < 0 else str(count)

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in sorted(IMAGE_HEADERS)}


IMAGE_HEADERS = {"Containers": "CONTAINERS", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED",
                 "Digest": "DIGEST", "ID": "IMAGE ID", "Repository": "REPOSITORY",
                 "SharedSize": "SHARED SIZE", "Size": "SIZE", "Tag": "TAG",
                 "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE"}


def image_rows(images: list[dict], trunc: bool, digests: bool) -> list[ImageRow]:
    """Expand each image into one row per repository:tag, as docker's imageFormat does."""
    rows = []
    for img in images:
        tags = [t for t in img.get("RepoTags") or () if t != "<none>:<none>"]
        refs = [d for d in img.get("RepoDigests") or () if d != "<none>@<none>"]
        if not tags and not refs:
            rows.append(ImageRow(img, "<none>", "<none>", "<none>", trunc))
            continue
        repo_tags: dict[str, list[str]] = {}
        for ref in tags:
            name, tag, _ = split_reference(ref)
            if tag:
                repo_tags.setdefault(familiar(full_name(name)), []).append(tag)
        repo_digests: dict[str, list[str]] = {}
        for ref in refs:
            name, _, digest = split_reference(ref)
            if digest:
                repo_digests.setdefault(familiar(full_name(name)), []).append(digest)
        for repo, tag_list in repo_tags.items():
            found = repo_digests.pop(repo, [])
            for tag in tag_list:
                if digests and found:
                    rows += [ImageRow(img, repo, tag, d, trunc) for d in found]
                else:
                    rows.append(ImageRow(img, repo, tag, "<none>", trunc))
        for repo, found in repo_digests.items():
            if digests:
                rows += [ImageRow(img, repo, "<none>", d, trunc) for d in found]
            else:
                rows.append(ImageRow(img, repo, "<none>", "", trunc))
    return rows


def images(cli, opts, args) -> int:
    filters = parse_filters(opts["filter"])
    if args:
        filters.setdefault("reference", {})[args[0]] = True
    query = {}
    if opts["all"]:
        query["all"] = "1"
    if filters:
        from hako.client import jsoncodec
        query["filters"] = jsoncodec.dumps(filters)
    summaries = cli.client.get_json("/images/json", query or None)
    summaries.sort(key=lambda s: s.get("Created") or 0, reverse=True)
    trunc = not opts["no_trunc"]
    rows = image_rows(summaries, trunc, opts["digests"])
    if opts["quiet"]:
        cli.out.write("".join(row.ID + "\n" for row in rows))
        return 0
    columns = [("Repository", "REPOSITORY"), ("Tag", "TAG")]
    if opts["digests"]:
        columns.append(("Digest", "DIGEST"))
    columns += [("ID", "IMAGE ID"), ("CreatedSince", "CREATED"), ("Size", "SIZE")]
    cli.out.write(render_rows(opts["format"], rows, columns, IMAGE_HEADERS))
    return 0


IMAGES = Command("[OPTIONS] [REPOSITORY[:TAG]]", "List images",
                 flags=(Flag("all", "a", help="Show all images (default hides intermediate images)"),
                        Flag("digests", None, help="Show digests"),
                        Flag("filter", "f", LIST, help="Filter output based on conditions provided"),
                        Flag("format", None, STRING, help=FORMAT_HELP),
                        Flag("no-trunc", None, help="Don't truncate output"),
                        Flag("quiet", "q", help="Only show image IDs"),
                        Flag("tree", None, help="List multi-platform images as a tree (EXPERIMENTAL)", hidden=True)),
                 args=at_most(1), action=images,
                 aliases=("image ls", "image list", "images"))


# -- rmi --------------------------------------------------------------------------------------

def rmi(cli, opts, args) -> int:
    from hako.client.errors import APIError
    query = {}
    if opts["force"]:
        query["force"] = "1"
    if opts["no_prune"]:
        query["noprune"] = "1"
    failed = []
    for name in args:
        try:
            report = cli.client.delete(f"/images/{name}", query or None) or []
        except APIError as exc:
            failed.append(exc.message)
            continue
        for item in report:
            if item.get("Untagged"):
                cli.out.write(f"Untagged: {item['Untagged']}\n")
            if item.get("Deleted"):
                cli.out.write(f"Deleted: {item['Deleted']}\n")
    if failed:
        raise StatusError(1, "\n".join(f"Error response from daemon: {m}" for m in failed))
    return 0


RMI = Command("[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
              flags=(Flag("force", "f", help="Force removal of the image"),
                     Flag("no-prune", None, help="Do not delete untagged parents")),
              args=at_least(1), action=rmi, aliases=("image rm", "image remove", "rmi"))


# -- tag --------------------------------------------------------------------------------------

def tag(cli, opts, args) -> int:
    source, target = args
    name, tag_, digest = split_reference(target)
    if digest:
        raise StatusError(1, "refusing to create a tag with a digest reference")
    cli.client.post(f"/images/{source}/tag", {"repo": full_name(name), "tag": tag_ or "latest"})
    return 0


TAG = Command("SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
              args=exactly(2), action=tag, aliases=("image tag", "tag"))


# -- import -----------------------------------------------------------------------------------

def import_(cli, opts, args) -> int:
    source = args[0]
    query: dict = {"fromSrc": "-" if source == "-" or not _is_url(source) else source}
    if opts["message"]:
        query["message"] = opts["message"]
    if len(args) > 1:
        query["repo"] = args[1]
    if opts["change"]:
        query["changes"] = opts["change"]
    if opts["platform"]:
        query["platform"] = opts["platform"]
    if query["fromSrc"] == "-":
        if source == "-":
            fd, close = cli.stdin_fd, False
        else:
            try:
                fd, close = os.open(source, os.O_RDONLY), True
            except OSError as exc:
                raise StatusError(1, f"open {source}: {(exc.strerror or '').lower()}") from None
        body = _file_chunks(fd)
    else:
        body, close, fd = None, False, -1
    try:
        resp = cli.client.request("POST", "/images/create", query, body,
                                  headers={"Content-Type": "text/plain"} if body is not None else None)
        from ..progress import StreamFailed, display_stream
        try:
            display_stream(resp.lines(), cli.out, False)
        except StreamFailed as exc:
            raise StatusError(1, str(exc)) from None
    finally:
        if close:
            os.close(fd)
    return 0


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _file_chunks(fd: int, size: int = 1 << 16):
    while True:
        data = os.read(fd, size)
        if not data:
            return
        yield data


IMPORT = Command("[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                 "Import the contents from a tarball to create a filesystem image",
                 flags=(Flag("change", "c", LIST, help="Apply Dockerfile instruction to the created image"),
                        Flag("message", "m", STRING, help="Set commit message for imported image"),
                        Flag("platform", None, STRING, help="Set platform if server is multi-platform capable")),
                 args=between(1, 2), action=import_, aliases=("image import", "import"))


# -- history ----------------------------------------------------------------------------------

class HistoryRow:
    GO_TYPE = "*image.historyContext"  # the type docker's template errors name

    def __init__(self, entry: dict, trunc: bool, human: bool) -> None:
        self.e = entry
        self.trunc = trunc
        self.human = human

    @property
    def ID(self) -> str:
        ident = self.e.get("Id", "")
        if ident == "<missing>" or not self.trunc:
            return ident
        return truncate_id(ident)

    @property
    def CreatedSince(self) -> str:
        created = self.e.get("Created", 0)
        if not self.human:
            return go_rfc3339(created)
        return time_ago(created)

    @property
    def CreatedAt(self) -> str:
        # docker's history shows RFC 3339 here, unlike the other lists' Go time strings
        return go_rfc3339(self.e.get("Created", 0))

    @property
    def CreatedBy(self) -> str:
        from ..tabwriter import ellipsis
        text = self.e.get("CreatedBy", "").replace("\t", " ")
        return ellipsis(text, 45) if self.trunc else text

    @property
    def Size(self) -> str:
        size = self.e.get("Size", 0)
        return human_size(size) if self.human else str(size)

    @property
    def Comment(self) -> str:
        return self.e.get("Comment", "")

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in sorted(HISTORY_HEADERS)}


HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


def history(cli, opts, args) -> int:
    entries = cli.client.get_json(f"/images/{args[0]}/history")
    rows = [HistoryRow(e, not opts["no_trunc"], opts["human"]) for e in entries]
    if opts["quiet"]:
        cli.out.write("".join(r.ID + "\n" for r in rows))
        return 0
    created = ("CreatedSince", "CREATED") if opts["human"] else ("CreatedAt", "CREATED AT")
    columns = [("ID", "IMAGE"), created, ("CreatedBy", "CREATED BY"), ("Size", "SIZE"),
               ("Comment", "COMMENT")]
    cli.out.write(render_rows(opts["format"], rows, columns, HISTORY_HEADERS))
    return 0


HISTORY = Command("[OPTIONS] IMAGE", "Show the history of an image",
                  flags=(Flag("format", None, STRING, help=FORMAT_HELP),
                         Flag("human", "H", BOOL, default=True, help="Print sizes and dates in human readable format"),
                         Flag("no-trunc", None, help="Don't truncate output"),
                         Flag("quiet", "q", help="Only show image IDs")),
                  args=exactly(1), action=history, aliases=("image history", "history"))
