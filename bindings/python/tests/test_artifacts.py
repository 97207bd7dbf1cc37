"""rn.Artifact, run.log_artifact and run.use_artifact over libruntrack's artifact store."""
from __future__ import annotations

import shutil

import pytest

import runicorn as rn


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "model.pt").write_bytes(bytes(range(256)) * 400)
    (src / "sub" / "cfg.json").write_text('{"a": 1}')
    (src / "sub" / "skip.tmp").write_text("x")
    return src


def test_log_then_use_round_trips_files_metadata_and_lineage(store, files, tmp_path, read):
    producer = rn.init(storage=store, name="train")
    art = rn.Artifact("resnet", type="model", description="baseline",
                      metadata={"acc": 0.95})
    art.add_file(files / "model.pt")
    art.add_dir(files / "sub", name="config", exclude_patterns=["*.tmp"])
    art.add_reference("s3://bucket/data.tar", checksum="sha256:00", size=10)
    art.add_metadata({"epochs": 3}, layers=50)
    art.add_tags("base", ["prod"])
    assert (art.version, art.full_name) == (None, "resnet")
    assert producer.log_artifact(art) == 1
    assert (art.version, art.full_name) == (1, "resnet:v1")
    assert rn.log_artifact(art) == 2
    producer.finish()

    consumer = rn.init(storage=store, name="eval")
    used = consumer.use_artifact("resnet:v1")
    assert (used.name, used.type, used.version, used.full_name) == ("resnet", "model", 1, "resnet:v1")
    assert used.get_metadata() == {"acc": 0.95, "epochs": 3, "layers": 50}
    assert used.description == "baseline" and used.tags == ["base", "prod"]
    assert used.created_by_run == producer.id
    manifest = used.get_manifest()
    assert sorted(f["path"] for f in manifest["files"]) == ["config/cfg.json", "model.pt"]
    assert manifest["references"] == [{"uri": "s3://bucket/data.tar", "checksum": "sha256:00",
                                       "size": 10}]
    target = used.download(tmp_path / "out")
    assert (target / "model.pt").read_bytes() == (files / "model.pt").read_bytes()
    assert (target / "config" / "cfg.json").read_text() == '{"a": 1}'
    assert used.read_file("config/cfg.json") == b'{"a": 1}'
    assert consumer.use_artifact("resnet:latest").version == 2
    assert consumer.use_artifact("resnet").version == 2
    default_dir = consumer.use_artifact("resnet:v2").download()
    assert (default_dir / "model.pt").is_file()
    shutil.rmtree(default_dir)
    consumer.finish()

    assert read(producer)["artifacts_created"] == [("resnet", "model", 1), ("resnet", "model", 2)]
    # One lineage record per use_artifact call; the catalog lists each.
    assert set(read(consumer)["artifacts_used"]) == {("resnet", "model", 1),
                                                     ("resnet", "model", 2)}


def test_errors(store, files):
    run = rn.init(storage=store)
    with pytest.raises(ValueError):
        rn.Artifact("bad/name")
    with pytest.raises(ValueError):
        rn.Artifact("ok", type="weights")
    art = rn.Artifact("empty")
    with pytest.raises(rn.FailedPreconditionError):
        run.log_artifact(art)
    with pytest.raises(rn.NotFoundError):
        art.add_file(files / "missing.bin")
    art.add_file(files / "model.pt")
    with pytest.raises(rn.AlreadyExistsError):
        art.add_file(files / "model.pt")
    with pytest.raises(rn.NotFoundError):
        run.use_artifact("nothing:latest")
    with pytest.raises(TypeError):
        run.log_artifact("not an artifact")
    assert run.log_artifact(art) == 1
    with pytest.raises(rn.NotFoundError):
        run.use_artifact("empty:v9")
