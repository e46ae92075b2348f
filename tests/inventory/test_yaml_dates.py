"""A YAML date that has the form but not the calendar (2026-02-30) is a clear error at its line, not a 500.

PyYAML builds `datetime.date(2026, 2, 30)` for it and raises ValueError, which is not a YAMLError: the
import page, the import API and the plan editor answered 500. Found by typing bad dates into every form.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory import porting_yaml
from inventory.forms import PlanForm
from inventory.models import Asset, RecoveryPlan
from inventory.porting import ImportFailed, import_file

pytestmark = pytest.mark.django_db

BAD_ASSET = "assets:\n  - name: feature-store\n    kind: dataset\n    description: 2026-02-30\n"


@pytest.fixture(params=["libyaml", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pure":
        monkeypatch.setattr(porting_yaml, "FAST", False)
    elif not porting_yaml.FAST:
        pytest.skip("PyYAML was built without libyaml")
    return str(request.param)


def test_an_import_with_an_impossible_date_names_its_line(loader: str) -> None:
    with pytest.raises(ImportFailed, match=r"line 4: .*'2026-02-30' is not a real date"):
        import_file(name="estate.yaml", data=BAD_ASSET.encode(), by=None)
    assert not Asset.objects.exists()


def test_the_import_page_and_api_answer_an_impossible_date_with_an_error(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    page = client.post("/inventory/import/", {"file": SimpleUploadedFile("e.yaml", BAD_ASSET.encode())})
    assert page.status_code in (200, 400) and "line 4" in page.content.decode()
    api = client.post("/api/v1/inventory/import/", {"file": SimpleUploadedFile("e.yaml", BAD_ASSET.encode())})
    assert api.status_code == 400 and "2026-02-30" in str(api.json())
    assert not Asset.objects.exists()


def test_the_plan_editor_refuses_an_impossible_date_and_aliases_with_the_line() -> None:
    form = PlanForm(data={"definition": "name: Switch\nsteps: []\nwhen: 2026-02-30\n"})
    assert not form.is_valid()
    assert "'2026-02-30' is not a real date" in form.errors["definition"][0]
    assert "line 3" in form.errors["definition"][0]
    form = PlanForm(data={"definition": "name: &n Switch\ndescription: *n\n"})
    assert not form.is_valid() and "anchors and aliases" in form.errors["definition"][0]


def test_the_plan_page_answers_an_impossible_date_without_a_500(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    response = client.post("/inventory/plans/new/", {"definition": "name: Switch\nwhen: 2026-02-30\n"})
    assert response.status_code in (200, 400) and "is not a real date" in response.content.decode()
    assert not RecoveryPlan.objects.exists()
