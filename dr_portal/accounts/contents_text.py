"""Free text that names a point's files or a server path: the messages the code writes, in words without them.

A backup, restore or verification failure is told by the engine or a connector
in a message that names the file, object or key it is about ("The file
secrets/db.env changed while it was being backed up"). Those names are a
point's contents (dr_portal/accounts/contents.py decides who may see them), so
the services keep the message whole only under a content key (``file_detail``)
and record these words as the error. Rows stored before that, and the audit
log (which is never rewritten), still hold such messages: ``hide_contents``
applies the same patterns to every string it is given, so a person who may not
restore reads them in words there too.

The server paths of a source, a vault or a restore target ("The source
/srv/models does not exist") are told the same way: they show where the data
lies on our servers, which only the roles that may restore need to know.

Each pattern is one message the code writes (or once wrote); a message that
names no file passes unchanged.
"""

from __future__ import annotations

import re

_FILE = r"[^\n]+?"
# An absolute path or file:// address up to the space (or the closing punctuation) after it.
_PATH = r"(?:file://)?/[^\s]*?(?=[.:,;)]?(?:\s|$))"
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (rf"The file {_FILE} changed while it was being backed up", "A file changed while it was being backed up"),
        (rf"The file {_FILE} disappeared from the source", "A file disappeared from the source"),
        (rf"The file {_FILE} cannot be read:", "A file of the source cannot be read:"),
        (rf"Reading {_FILE} failed:", "Reading a file of the source failed:"),
        (rf"The object {_FILE} (disappeared from|was rewritten while)", r"An object \1"),
        (rf"The object {_FILE} in (\S+) cannot be read", r"An object in \1 cannot be read"),
        (r"(Part of the source \S+ cannot be read: [^(\n]*?) \([^\n]+\)\.", r"\1 (a file of it)."),
        (r" \(e\.g\. [^\n]+?\); pause the writers", "; pause the writers"),
        (rf"Cannot restore {_FILE}: a folder", "Cannot restore a file: a folder"),
        (rf"Refusing to restore {_FILE}: {_FILE} in the target", "Refusing to restore a file: a folder in the target"),
        (rf"The artifact {_FILE} cannot be read from MLflow", "An artifact cannot be read from MLflow"),
        # The engine's integrity messages start with the file's path.
        (
            r"(?m)(^|: |; )[^\n:;]+?: (?=its stored object|chunk [0-9a-f]{16}|restored content does not match)",
            r"\1a file of the point: ",
        ),
        (r"\b[0-9a-f]{64}\b", "(digest)"),
        # Server paths of a source, a vault or a restore target (after the patterns above,
        # which read "the source X" as one word).
        (rf"([Tt]he source|[Tt]he vault directory|[Tt]he restore target) {_PATH}", r"\1"),
        (rf"([Tt]he vault) at {_PATH}", r"\1"),
        (rf"Refusing to clean {_PATH}:", "Refusing to clean a folder:"),
        (rf"(missing from) file://{_PATH}", r"\1 the vault"),
    )
)


# The ``user:password@`` of an address (http://admin:pw@host, s3://KEY:SECRET@bucket): a secret, never shown.
USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*@)")


def strip_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` part of every address in it removed."""
    return USERINFO.sub(lambda m: m.group("scheme"), text or "")


def file_names_hidden(text: str) -> str:
    """``text`` without the file, object or key names (and digests) it carries; unchanged when none."""
    text = strip_userinfo(text)
    for pattern, words in PATTERNS:
        text = pattern.sub(words, text)
    return text
