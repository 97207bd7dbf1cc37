// String forms of DownsampleMethod and XAxis, as they appear in query strings and the Python API.
#include "runtrack/downsample.h"

namespace runtrack {

Result<DownsampleMethod> ParseDownsampleMethod(std::string_view text) {
  if (text == "lttb") return DownsampleMethod::kLttb;
  if (text == "m4") return DownsampleMethod::kM4;
  if (text == "minmax") return DownsampleMethod::kMinMax;
  if (text == "none") return DownsampleMethod::kNone;
  return Status::InvalidArgument("unknown downsample method '" + std::string(text) +
                                 "'; valid values: lttb, m4, minmax, none");
}

Result<XAxis> ParseXAxis(std::string_view text) {
  if (text == "step") return XAxis::kStep;
  if (text == "wall_time" || text == "time") return XAxis::kWallTime;
  if (text == "relative_time") return XAxis::kRelativeTime;
  return Status::InvalidArgument("unknown x axis '" + std::string(text) +
                                 "'; valid values: step, wall_time (or time), relative_time");
}

std::string_view DownsampleMethodName(DownsampleMethod method) {
  switch (method) {
    case DownsampleMethod::kLttb: return "lttb";
    case DownsampleMethod::kM4: return "m4";
    case DownsampleMethod::kMinMax: return "minmax";
    case DownsampleMethod::kNone: return "none";
  }
  return "unknown";
}

std::string_view XAxisName(XAxis axis) {
  switch (axis) {
    case XAxis::kStep: return "step";
    case XAxis::kWallTime: return "wall_time";
    case XAxis::kRelativeTime: return "relative_time";
  }
  return "unknown";
}

}  // namespace runtrack
