#include "encode/remote_viewer_json.h"

#include <boost/json.hpp>

namespace runicorn::encode {
namespace json = boost::json;

json::object RemoteViewerSessionJson(const service::ssh::RemoteViewerSession& s) {
  return {{"session_id", s.session_id},   {"connection_id", s.connection_id}, {"remote_host", s.remote_host},
          {"remote_port", s.remote_port}, {"local_port", s.local_port},       {"remote_root", s.remote_root},
          {"status", s.status},           {"created_at", s.created_at},       {"local_url", s.local_url},
          {"pid", s.pid},                 {"runicorn_path", s.runicorn_path}};
}

json::object RemoteViewerStarted(const service::ssh::RemoteViewerSession& s) {
  return {{"ok", true},
          {"session", RemoteViewerSessionJson(s)},
          {"token", s.token},
          {"message", "Remote Viewer ready at " + s.local_url}};
}

}  // namespace runicorn::encode
