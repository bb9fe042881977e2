#include <switchboard/http.hpp>

#include <stdexcept>

namespace switchboard::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    segments.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

}  // namespace

void Router::get(std::string p, Handler h, RouteOptions o) {
  route("GET", std::move(p), std::move(h), std::move(o));
}
void Router::post(std::string p, Handler h, RouteOptions o) {
  route("POST", std::move(p), std::move(h), std::move(o));
}
void Router::put(std::string p, Handler h, RouteOptions o) {
  route("PUT", std::move(p), std::move(h), std::move(o));
}
void Router::del(std::string p, Handler h, RouteOptions o) {
  route("DELETE", std::move(p), std::move(h), std::move(o));
}
void Router::options(std::string p, Handler h, RouteOptions o) {
  route("OPTIONS", std::move(p), std::move(h), std::move(o));
}
void Router::any(std::string p, Handler h, RouteOptions o) {
  route("", std::move(p), std::move(h), std::move(o));
}

void Router::route(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern '" + pattern + "' must start with '/'");
  }
  Route route{std::move(method), {}, false, std::move(handler), std::move(options)};
  for (std::string_view segment : split_path(pattern)) {
    if (route.rest) throw std::invalid_argument("'*' must be the last segment of '" + pattern + "'");
    if (segment == "*") {
      route.rest = true;
    } else {
      route.segments.emplace_back(segment);
    }
  }
  routes_.push_back(std::move(route));
}

Router::Match Router::match(std::string_view method, std::string_view path,
                            std::vector<std::pair<std::string, std::string>>& params) const {
  Match result;
  auto segments = split_path(path);
  std::string_view lookup = method == "HEAD" ? std::string_view("GET") : method;
  for (const Route& route : routes_) {
    if (route.rest ? segments.size() < route.segments.size() : segments.size() != route.segments.size()) {
      continue;
    }
    bool matched = true;
    std::size_t captured = params.size();
    for (std::size_t i = 0; i < route.segments.size() && matched; ++i) {
      const std::string& want = route.segments[i];
      if (!want.empty() && want.front() == ':') {
        if (segments[i].empty()) {
          matched = false;  // "/users/" has no :id
          break;
        }
        params.emplace_back(want.substr(1), segments[i]);
      } else if (want != segments[i]) {
        matched = false;
      }
    }
    if (!matched) {
      params.resize(captured);
      continue;
    }
    if (!route.method.empty() && route.method != lookup && !(route.method == "HEAD" && method == "HEAD")) {
      result.path_matched = true;
      auto add = [&result](std::string_view m) {
        std::string_view rest = result.allow;
        while (!rest.empty()) {
          auto comma = rest.find(", ");
          if (rest.substr(0, comma) == m) return;
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
        }
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += m;
      };
      add(route.method);
      if (route.method == "GET") add("HEAD");
      params.resize(captured);
      continue;
    }
    if (route.rest) {
      // The rest of the path after the fixed segments, without its leading '/'.
      std::size_t offset = 0;
      for (std::size_t i = 0; i < route.segments.size(); ++i) offset += 1 + segments[i].size();
      params.emplace_back("*", std::string(path.substr(std::min(path.size(), offset + 1))));
    }
    result.route = &route;
    return result;
  }
  return result;
}

}  // namespace switchboard::http
