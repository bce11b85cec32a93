"""The project's references: start/end frames, elements, change events, and the request placeholders."""

from __future__ import annotations

import hashlib

import pytest

from kling_studio.core.references import (
    MissingUploadError,
    ProjectReferences,
    Reference,
    ReferenceEditError,
    ReferencesState,
    element_token,
    fill_reference_urls,
    mentioned_elements,
    placeholder_hashes,
    placeholder_url,
)


def ref(name: str) -> Reference:
    return Reference(hashlib.sha256(name.encode()).hexdigest(), name)


def test_a_reference_needs_a_real_hash():
    with pytest.raises(ValueError, match="sha256"):
        Reference("abc", "short")
    assert ref("hero").label == "hero"
    assert Reference(ref("x").sha256).label == ref("x").sha256[:12]


def test_changes_announce_the_part_that_changed_and_nothing_when_unchanged():
    refs = ProjectReferences()
    heard: list[str] = []
    refs.changed.connect(heard.append)
    refs.set_start_frame(ref("start"))
    refs.set_start_frame(ref("start"))
    refs.set_end_frame(ref("end"))
    index = refs.add_element("Bottle", ref("front"), (ref("side"),))
    refs.rename_element(index, "Hero bottle")
    assert heard == ["start_frame", "end_frame", "elements", "elements"]
    assert refs.elements[0].name == "Hero bottle"
    assert refs.state.uses_image_to_video


def test_an_element_takes_at_most_three_reference_images_and_a_refusal_changes_nothing():
    refs = ProjectReferences()
    refs.add_element("Cat", ref("front"), (ref("a"), ref("b"), ref("c")))
    before = refs.state
    with pytest.raises(ReferenceEditError, match="the most fal takes"):
        refs.add_element_reference(0, ref("d"))
    with pytest.raises(ReferenceEditError):
        refs.add_element("Dog", ref("f"), (ref("1"), ref("2"), ref("3"), ref("4")))
    assert refs.state == before
    assert refs.elements[0].is_complete


def test_an_element_without_references_is_incomplete():
    refs = ProjectReferences()
    refs.add_element("  ", ref("front"))
    assert refs.elements[0].name == "Element 1"
    assert not refs.elements[0].is_complete
    refs.add_element_reference(0, ref("side"))
    assert refs.elements[0].is_complete
    refs.remove_element_reference(0, 0)
    assert not refs.elements[0].is_complete


def test_all_references_lists_each_image_once_in_request_order():
    shared = ref("shared")
    state = ReferencesState(
        start_frame=shared,
        end_frame=ref("end"),
        elements=(),
    )
    refs = ProjectReferences(state)
    refs.add_element("A", ref("front"), (shared, ref("side")))
    names = [r.name for r in refs.state.all_references()]
    assert names == ["shared", "end", "front", "side"]


def test_moving_and_removing_elements_renumbers_them():
    refs = ProjectReferences()
    for name in ("A", "B", "C"):
        refs.add_element(name, ref(name), (ref(name + "1"),))
    refs.move_element(2, 0)
    assert [e.name for e in refs.elements] == ["C", "A", "B"]
    refs.remove_element(1)
    assert [e.name for e in refs.elements] == ["C", "B"]
    with pytest.raises(IndexError):
        refs.remove_element(5)


def test_restore_puts_back_an_earlier_state_and_announces_it():
    refs = ProjectReferences()
    empty = refs.state
    refs.set_start_frame(ref("s"))
    refs.add_element("A", ref("a"), (ref("b"),))
    heard: list[str] = []
    refs.changed.connect(heard.append)
    refs.restore(empty)
    assert refs.state.is_empty
    assert heard == ["start_frame", "elements"]


def test_relink_points_every_use_at_the_new_image():
    old, new = ref("old"), ref("new")
    refs = ProjectReferences(ReferencesState(start_frame=old))
    refs.add_element("A", old, (ref("x"), old))
    refs.relink(old.sha256, new)
    assert refs.start_frame == new
    assert refs.elements[0].frontal == new
    assert refs.elements[0].references == (ref("x"), new)


def test_element_mentions():
    assert element_token(0) == "@Element1"
    assert mentioned_elements("@Element2 hands @element1 to @Element2.") == [2, 1]
    assert mentioned_elements("no elements @Elemental") == []


def test_placeholders_are_filled_with_uploaded_urls_without_touching_the_original():
    a, b = ref("a").sha256, ref("b").sha256
    arguments = {
        "prompt": "@Element1 walks",
        "start_image_url": placeholder_url(a),
        "elements": [{"frontal_image_url": placeholder_url(b), "reference_image_urls": [placeholder_url(a)]}],
    }
    assert placeholder_hashes(arguments) == [a, b]
    filled = fill_reference_urls(arguments, {a: "https://cdn/a.jpg", b: "https://cdn/b.jpg"})
    assert filled["start_image_url"] == "https://cdn/a.jpg"
    assert filled["elements"][0]["reference_image_urls"] == ["https://cdn/a.jpg"]
    assert arguments["start_image_url"] == placeholder_url(a)
    assert placeholder_hashes(filled) == []
    with pytest.raises(MissingUploadError, match="not uploaded"):
        fill_reference_urls(arguments, {a: "https://cdn/a.jpg"})


# ---- the request and the price of a project with references ----------------------------------------------


def i2v_project():
    from kling_studio.core.project import Project

    project = Project()
    project.storyboard.set_prompt("@Element1 turns towards @Element2 and smiles")
    project.references.set_start_frame(ref("start"))
    project.references.add_element("Hero", ref("hero front"), (ref("hero side"),))
    project.references.add_element("Bottle", ref("bottle front"), (ref("bottle top"), ref("hero side")))
    return project


def test_a_start_frame_sends_the_tiers_image_to_video_endpoint_without_aspect_ratio():
    from kling_studio.core.request import build_request

    request = build_request(i2v_project(), "4k")
    assert request.model_id == "fal-ai/kling-video/v3/4k/image-to-video"
    args = request.arguments
    assert "aspect_ratio" not in args and "end_image_url" not in args
    assert args["start_image_url"] == placeholder_url(ref("start").sha256)
    assert args["elements"] == [
        {
            "frontal_image_url": placeholder_url(ref("hero front").sha256),
            "reference_image_urls": [placeholder_url(ref("hero side").sha256)],
        },
        {
            "frontal_image_url": placeholder_url(ref("bottle front").sha256),
            "reference_image_urls": [
                placeholder_url(ref("bottle top").sha256),
                placeholder_url(ref("hero side").sha256),
            ],
        },
    ]
    assert list(args)[:4] == ["prompt", "duration", "shot_type", "start_image_url"]
    assert len(request.reference_hashes) == 5


def test_an_end_frame_is_sent_and_urls_are_filled_in():
    from kling_studio.core.request import build_request

    project = i2v_project()
    project.references.set_end_frame(ref("end"))
    request = build_request(project, "standard")
    assert request.model_id == "fal-ai/kling-video/v3/standard/image-to-video"
    urls = {sha: f"https://cdn.example/{sha[:8]}.jpg" for sha in request.reference_hashes}
    sent = request.with_image_urls(urls)
    assert sent.arguments["end_image_url"] == urls[ref("end").sha256]
    assert sent.reference_hashes == []
    assert "kling-studio-reference" not in str(sent.arguments)


def test_without_a_start_frame_the_request_stays_text_to_video():
    from kling_studio.core.project import Project
    from kling_studio.core.request import build_request

    project = Project()
    project.storyboard.set_prompt("a lighthouse at dawn")
    request = build_request(project, "pro")
    assert request.model_id.endswith("/pro/text-to-video")
    assert request.arguments["aspect_ratio"] == "16:9"


def test_the_estimate_follows_the_image_to_video_endpoint():
    from decimal import Decimal

    from kling_studio.core.pricing import PriceCatalog, estimate

    priced = estimate(i2v_project(), "4k", catalog=PriceCatalog.bundled())
    assert priced.model_id == "fal-ai/kling-video/v3/4k/image-to-video"
    assert priced.total == Decimal("2.10")


# ---- validation ---------------------------------------------------------------------------------------


def paths_of(project) -> list[str]:
    from kling_studio.core.validation import errors, validate

    return [p.field_path for p in errors(validate(project))]


def test_end_frames_and_elements_need_a_start_frame():
    project = i2v_project()
    assert paths_of(project) == []
    project.references.set_end_frame(ref("end"))
    project.references.set_start_frame(None)
    assert paths_of(project) == ["references.end_frame", "references.elements"]


def test_an_incomplete_element_is_an_error_naming_it():
    from kling_studio.core.validation import errors, validate

    project = i2v_project()
    project.references.add_element("Dog")
    problems = errors(validate(project))
    assert [p.field_path for p in problems] == [
        "references.elements[2].frontal",
        "references.elements[2].references",
    ]
    assert problems[0].message == "Element 3 (Dog) has no frontal image."
    assert "fal needs 1 to 3" in problems[1].message


def test_a_prompt_naming_a_missing_element_is_flagged():
    from kling_studio.core.validation import validate, warnings

    project = i2v_project()
    project.prompt_follows_brief = False
    project.storyboard.set_prompt("@Element3 waves at @Element1")
    flagged = [p for p in warnings(validate(project)) if "@Element3" in p.message]
    assert flagged and "2 elements" in flagged[0].message
    project.references.add_element("Third", ref("third"), (ref("third side"),))
    assert not [p for p in validate(project) if "@Element3" in p.message]


def test_provenance_lists_each_image_once_with_its_uses_and_url():
    from kling_studio.core.references import provenance_entries

    state = i2v_project().references.state
    urls = {r.sha256: f"https://cdn/{r.name}.jpg" for r in state.all_references()}
    entries = provenance_entries(state, urls)
    assert len(entries) == 5
    side = next(e for e in entries if e["name"] == "hero side")
    assert side["url"] == "https://cdn/hero side.jpg"
    assert side["used_as"] == ["elements[0].reference_image_urls[0]", "elements[1].reference_image_urls[1]"]
    assert entries[0]["used_as"] == ["start_frame"]


# ---- project files --------------------------------------------------------------------------------------


def test_references_survive_a_project_file_round_trip_by_hash_and_name(tmp_path):
    from kling_studio.core.project_file import load_project, project_to_dict, save_project

    project = i2v_project()
    project.references.set_end_frame(ref("end"))
    path = tmp_path / "spot.klingproj"
    save_project(project, path)
    loaded = load_project(path)
    assert loaded.references.state == project.references.state
    saved = project_to_dict(project)["references"]
    assert saved["start_frame"] == {"sha256": ref("start").sha256, "name": "start", "tags": []}
    assert [e["name"] for e in saved["elements"]] == ["Hero", "Bottle"]


def test_a_project_without_references_writes_no_references_key():
    from kling_studio.core.project import Project
    from kling_studio.core.project_file import project_to_dict

    assert "references" not in project_to_dict(Project())


def test_unknown_reference_keys_survive_a_round_trip():
    from kling_studio.core.project_file import project_from_dict, project_to_dict

    data = project_to_dict(i2v_project())
    data["references"]["video_element"] = {"url": "https://example/clip.mp4"}
    again = project_to_dict(project_from_dict(data))
    assert again["references"]["video_element"] == {"url": "https://example/clip.mp4"}
    assert again["references"]["start_frame"] == data["references"]["start_frame"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.__setitem__("start_frame", {"sha256": "nothex", "name": "x"}), "references.start_frame.sha256"),
        (lambda r: r.__setitem__("elements", {"not": "a list"}), "references.elements"),
        (lambda r: r["elements"][1].__setitem__("references", [None]), "references.elements[1].references[0]"),
        (lambda r: r["elements"][0]["frontal"].__setitem__("tags", "hero"), "references.elements[0].frontal.tags"),
    ],
)
def test_a_broken_reference_in_a_file_names_the_field(mutate, field):
    from kling_studio.core.project_file import ProjectFileError, project_from_dict, project_to_dict

    data = project_to_dict(i2v_project())
    mutate(data["references"])
    with pytest.raises(ProjectFileError) as broken:
        project_from_dict(data, origin="spot.klingproj")
    assert broken.value.field_path == field
    assert str(broken.value).startswith(f"spot.klingproj: {field} must be")
