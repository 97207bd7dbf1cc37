#include "server/router.h"

#include <stdexcept>

namespace runicorn::server {

void Router::Add(Route route) {
  Compiled c;
  std::string_view p = route.pattern;
  if (p.empty() || p.front() != '/') throw std::invalid_argument("route pattern must start with '/'");
  p.remove_prefix(1);
  while (!p.empty()) {
    size_t slash = p.find('/');
    std::string_view seg = p.substr(0, slash);
    Segment s;
    size_t open = seg.find('{');
    if (open == std::string_view::npos) {
      s.literal = seg;
    } else {
      if (seg.back() != '}') throw std::invalid_argument("bad route segment: " + std::string(seg));
      s.literal = seg.substr(0, open);
      s.param = seg.substr(open + 1, seg.size() - open - 2);
    }
    c.literal_chars += s.literal.size() + (s.param.empty() ? 1 : 0);
    c.segments.push_back(std::move(s));
    p = slash == std::string_view::npos ? std::string_view() : p.substr(slash + 1);
  }
  routes_.push_back(std::move(route));
  compiled_.push_back(std::move(c));
}

bool Router::MatchOne(const Compiled& c, const std::vector<std::string>& segments,
                      std::vector<std::pair<std::string, std::string>>* params) {
  if (c.segments.size() != segments.size()) return false;
  params->clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = c.segments[i];
    const std::string& got = segments[i];
    if (s.param.empty()) {
      if (got != s.literal) return false;
    } else {
      // A parameter never matches an empty segment.
      if (got.size() <= s.literal.size() || got.compare(0, s.literal.size(), s.literal) != 0) return false;
      params->emplace_back(s.param, got.substr(s.literal.size()));
    }
  }
  return true;
}

Router::Match Router::Find(std::string_view method, const std::vector<std::string>& segments) const {
  // The most literal matching pattern decides, whatever its method: DELETE on
  // ".../{name}/versions" is 405 (the path names the versions listing), not a delete of version
  // "ersions".
  struct Hit {
    size_t index;
    std::vector<std::pair<std::string, std::string>> params;
  };
  std::vector<Hit> hits;
  size_t best_score = 0;
  std::vector<std::pair<std::string, std::string>> params;
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (!MatchOne(compiled_[i], segments, &params)) continue;
    size_t score = compiled_[i].literal_chars + 1;
    if (score < best_score) continue;
    if (score > best_score) hits.clear();
    best_score = score;
    hits.push_back({i, params});
  }
  Match m;
  for (Hit& h : hits) {
    const Route& r = routes_[h.index];
    // HEAD is served by GET routes (the session drops the body).
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      m.kind = Match::kFound;
      m.route = &r;
      m.params = std::move(h.params);
      return m;
    }
  }
  if (!hits.empty()) {
    m.kind = Match::kMethodNotAllowed;
    for (const Hit& h : hits) {
      const std::string& meth = routes_[h.index].method;
      if (m.allow.find(meth) != std::string::npos) continue;
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += meth;
    }
  }
  return m;
}

}  // namespace runicorn::server
