// runicorn._core.Artifact (the builder) and runicorn._core.ArtifactHandle (a resolved version).
#include <optional>
#include <string>
#include <vector>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "errors.h"
#include "json_convert.h"
#include "runtrack/artifacts.h"
#include "runtrack/json_codec.h"

namespace py = pybind11;

namespace runicorn_py {
namespace {

// The version fields of the one codec (runtrack/json_codec.h) that the HTTP API uses as well.
py::dict VersionInfoToDict(const runtrack::ArtifactVersionInfo& v) {
  return FromJsonObject(runtrack::json::ArtifactVersion(v));
}

py::list FilesToList(const std::vector<runtrack::ArtifactFileInfo>& files) {
  py::list out;
  for (const auto& f : files) {
    py::dict d;
    d["path"] = f.path;
    d["size"] = f.size;
    d["digest"] = f.digest;
    d["num_chunks"] = f.num_chunks;
    out.append(d);
  }
  return out;
}

py::list ReferencesToList(const std::vector<runtrack::ArtifactReferenceInfo>& refs) {
  py::list out;
  for (const auto& r : refs) {
    py::dict d;
    d["uri"] = r.uri;
    d["checksum"] = r.checksum ? py::object(py::str(*r.checksum)) : py::none();
    d["size"] = r.size ? py::object(py::int_(*r.size)) : py::none();
    out.append(d);
  }
  return out;
}

runtrack::Artifact CreateArtifact(std::string name, std::string_view type) {
  runtrack::ArtifactType parsed = ValueOrThrow(runtrack::ParseArtifactType(type));
  return ValueOrThrow(runtrack::Artifact::Create(std::move(name), parsed));
}

}  // namespace

void RegisterArtifacts(py::module_& m) {
  py::class_<runtrack::Artifact>(m, "Artifact")
      .def(py::init(&CreateArtifact), py::arg("name"), py::arg("type") = "model")
      .def_property_readonly("name", &runtrack::Artifact::name)
      .def_property_readonly("type", [](const runtrack::Artifact& a) {
        return std::string(runtrack::ArtifactTypeName(a.type()));
      })
      .def_property("description", &runtrack::Artifact::description,
                    &runtrack::Artifact::SetDescription)
      .def_property_readonly("metadata",
                             [](const runtrack::Artifact& a) { return FromJsonObject(a.metadata()); })
      .def_property_readonly("tags", &runtrack::Artifact::tags)
      .def_property_readonly("files",
                             [](const runtrack::Artifact& a) {
                               py::list out;
                               for (const auto& f : a.files())
                                 out.append(py::make_tuple(f.path, f.source));
                               return out;
                             })
      .def_property_readonly("references",
                             [](const runtrack::Artifact& a) {
                               py::list out;
                               for (const auto& r : a.references()) {
                                 out.append(py::make_tuple(
                                     r.uri, r.checksum ? py::object(py::str(*r.checksum)) : py::none(),
                                     r.size ? py::object(py::int_(*r.size)) : py::none()));
                               }
                               return out;
                             })
      .def("add_metadata",
           [](runtrack::Artifact& a, py::handle metadata) {
             a.AddMetadata(ToJsonObject(metadata, "metadata"));
           },
           py::arg("metadata"))
      .def("add_tag", [](runtrack::Artifact& a, std::string tag) { ThrowIfError(a.AddTag(std::move(tag))); },
           py::arg("tag"))
      .def("add_file",
           [](runtrack::Artifact& a, const std::filesystem::path& path, std::optional<std::string> name) {
             ThrowIfError(a.AddFile(path, std::move(name)));
           },
           py::arg("path"), py::arg("name") = py::none())
      .def("add_dir",
           [](runtrack::Artifact& a, const std::filesystem::path& dir, std::optional<std::string> name,
              const std::vector<std::string>& exclude) {
             ThrowIfError(a.AddDir(dir, std::move(name), exclude));
           },
           py::arg("path"), py::arg("name") = py::none(), py::arg("exclude") = std::vector<std::string>{})
      .def("add_reference",
           [](runtrack::Artifact& a, std::string uri, std::optional<std::string> checksum,
              std::optional<uint64_t> size) {
             ThrowIfError(a.AddReference(std::move(uri), std::move(checksum), size));
           },
           py::arg("uri"), py::arg("checksum") = py::none(), py::arg("size") = py::none());

  py::class_<runtrack::ArtifactHandle>(m, "ArtifactHandle")
      .def_property_readonly("info", [](const runtrack::ArtifactHandle& h) { return VersionInfoToDict(h.info()); })
      .def_property_readonly("files", [](const runtrack::ArtifactHandle& h) { return FilesToList(h.files()); })
      .def_property_readonly("references",
                             [](const runtrack::ArtifactHandle& h) { return ReferencesToList(h.references()); })
      .def("download",
           [](const runtrack::ArtifactHandle& h, const std::filesystem::path& dir) {
             runtrack::Status s = [&] {
               py::gil_scoped_release release;
               return h.Download(dir);
             }();
             ThrowIfError(s);
           },
           py::arg("dir"))
      .def("read_file",
           [](const runtrack::ArtifactHandle& h, std::string_view path) {
             runtrack::Result<std::string> bytes = [&] {
               py::gil_scoped_release release;
               return h.ReadFile(path);
             }();
             std::string data = ValueOrThrow(std::move(bytes));
             return py::bytes(data);
           },
           py::arg("path"));
}

}  // namespace runicorn_py
