// runicorn._core.Run.shipping_status(): Store::shipping_status() (runtrack/remote.h) as a plain
// dict, None when the run's store does not ship. A copy the shipper thread keeps; never waits on
// the network, so the GIL stays held.
#include <pybind11/pybind11.h>

#include "py_run.h"
#include "runtrack/remote.h"

namespace py = pybind11;

namespace runicorn_py {

void AddShippingStatus(py::class_<PyRun>& cls) {
  cls.def(
      "shipping_status",
      [](const PyRun& r) -> py::object {
        std::optional<runtrack::ShippingStatus> s = r.store->shipping_status();
        if (!s) return py::none();
        py::dict d;
        d["server"] = s->server;
        d["runs"] = s->runs;
        d["unacknowledged_bytes"] = s->unacknowledged_bytes;
        d["quota_bytes"] = s->quota_bytes;
        d["over_quota"] = s->over_quota;
        d["quota_warnings"] = s->quota_warnings;
        d["last_error"] = s->last_error;
        return d;
      },
      "Journal shipping's state for this run's store (docs/REMOTE.md): a dict with server, runs, "
      "unacknowledged_bytes, quota_bytes, over_quota, quota_warnings, last_error; None when shipping "
      "is off.");
}

}  // namespace runicorn_py
