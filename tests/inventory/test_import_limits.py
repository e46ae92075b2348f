"""Imports refuse YAML anchors and aliases, refuse files over the cap before reading them, and stream CSV."""

from __future__ import annotations

import io
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory import porting_yaml
from inventory.models import Vault
from inventory.porting import MAX_BYTES, ImportFailed, import_file, parse_yaml
from inventory.porting_stream import import_stream

pytestmark = pytest.mark.django_db
API = "/api/v1/inventory"

# 373 bytes in the fuzzing report; ten levels of nine references expand to a billion nodes.
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)


@pytest.fixture(params=["libyaml", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each refusal holds with libyaml's two passes and with the pure-Python fallback."""
    if request.param == "pure":
        monkeypatch.setattr(porting_yaml, "FAST", False)
    elif not porting_yaml.FAST:
        pytest.skip("PyYAML was built without libyaml")
    return str(request.param)


def test_yaml_aliases_are_refused_before_they_expand(loader: str) -> None:
    with pytest.raises(ImportFailed, match=r"line 1: .*anchors and aliases"):
        import_file(name="laughs.yaml", data=LAUGHS.encode(), by=None)


def test_a_single_anchor_is_refused_too(loader: str) -> None:
    text = "vaults:\n  - &v {name: v1, kind: filesystem, config: {path: /srv/v}}\n"
    with pytest.raises(ImportFailed, match=r"line 2: .*anchors and aliases"):
        import_file(name="v.yaml", data=text.encode(), by=None)
    assert not Vault.objects.exists()


def test_a_merge_key_alias_deep_in_the_file_is_refused(loader: str) -> None:
    text = "assets:\n  - name: a\n    kind: model\n  - name: b\n    <<: *base\n"
    with pytest.raises(ImportFailed, match=r"line 5: .*(anchors and aliases|alias)"):
        import_file(name="m.yaml", data=text.encode(), by=None)


def test_libyaml_reads_the_import_when_pyyaml_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    if not porting_yaml.FAST:
        pytest.skip("PyYAML was built without libyaml")
    used: list[str] = []
    real = yaml.load

    def spy(stream: str, Loader: Any) -> Any:
        used.append(Loader.__mro__[1].__name__)
        return real(stream, Loader=Loader)

    monkeypatch.setattr(porting_yaml.yaml, "load", spy)
    sections = parse_yaml("assets:\n  - name: a\n    kind: model\n")
    assert used == ["CSafeLoader"]
    assert sections["assets"][0].line == 2 and sections["assets"][0].field_lines == {"name": 2, "kind": 3}


class Untouchable(io.BytesIO):
    def read(self, *args: object) -> bytes:
        raise AssertionError("an oversized upload must be refused before it is read")


def test_an_oversized_upload_is_refused_before_it_is_read() -> None:
    with pytest.raises(ImportFailed, match="larger than 5 MB"):
        import_stream(name="big.csv", stream=Untouchable(), size=MAX_BYTES + 1, by=None)


def test_a_csv_of_unknown_size_is_cut_off_at_the_cap() -> None:
    header = "name,kind,owner_team,tier,region,source_uri\n"
    rows = "".join(f"a{i},model,risk,1,eu-west-1,/srv/a{i}\n" for i in range(MAX_BYTES // 30))
    with pytest.raises(ImportFailed, match="larger than 5 MB"):
        import_stream(name="big.csv", stream=io.BytesIO((header + rows).encode()), size=None, by=None)


class Reads(io.BytesIO):
    """Counts how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read1(self, size: int | None = -1) -> bytes:
        self.asked.append(size or -1)
        return super().read1(size)


def test_csv_is_read_in_pieces_not_whole(settings) -> None:
    header = "name,kind,owner_team,tier,region,source_uri\n"
    rows = "".join(f"a{i},model,risk,1,eu-west-1,/srv/a{i}\n" for i in range(4000))
    stream = Reads((header + rows + "bad,robot,risk,1,eu-west-1,/srv/x\n").encode())
    with pytest.raises(ImportFailed):
        import_stream(name="a.csv", stream=stream, size=None, by=None)
    assert len(stream.asked) > 5 and all(0 < n <= 65536 for n in stream.asked)


def test_the_api_refuses_an_oversized_upload_with_a_400(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    big = SimpleUploadedFile("big.yaml", b"#" * (MAX_BYTES + 1))
    response = client.post(f"{API}/import/", {"file": big})
    assert response.status_code == 400 and "larger than 5 MB" in str(response.json())


def test_the_api_refuses_aliases_with_a_400(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    response = client.post(f"{API}/import/", {"file": SimpleUploadedFile("l.yaml", LAUGHS.encode())})
    assert response.status_code == 400 and "anchors and aliases" in str(response.json())
