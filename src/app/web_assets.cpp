#include "app/web_assets.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <boost/json.hpp>

#include "core/encoding.hpp"
#include "http/compression.hpp"

namespace switchboard::app {

namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  if (!file && !file.eof()) return std::nullopt;
  return std::move(contents).str();
}

// Whether If-None-Match names the tag, strong or weak (Node compares the same two forms).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    std::string_view tag = core::trim_whitespace(if_none_match.substr(0, comma));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag || tag == "*") return true;
    if_none_match = comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
  }
  return false;
}

}  // namespace

std::vector<fs::path> repository_candidates() {
  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path dir = exe.parent_path(); !dir.empty(); dir = dir.parent_path()) {
      candidates.push_back(dir);
      if (dir == dir.root_path()) break;
    }
  }
  // This file is src/app/web_assets.cpp of the source tree the binary was built from
  // (the build passes absolute paths to the compiler).
  fs::path source = fs::path(__FILE__);
  if (source.is_absolute()) {
    fs::path root = source.parent_path().parent_path().parent_path();
    if (std::find(candidates.begin(), candidates.end(), root) == candidates.end()) candidates.push_back(root);
  }
  return candidates;
}

std::string find_in_repository(std::string_view relative, std::string_view probe) {
  for (const fs::path& root : repository_candidates()) {
    std::error_code ec;
    fs::path dir = root / relative;
    if (fs::is_regular_file(dir / probe, ec)) return dir.lexically_normal().string();
  }
  return {};
}

std::string describe_search(std::string_view relative) {
  auto candidates = repository_candidates();
  std::string text = std::string(relative) + " under ";
  if (candidates.empty()) return text + "no folder (the executable's path is unknown)";
  // The executable's ancestors read as one phrase; the source tree, if apart, after it.
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    text += exe.parent_path().string() + " or a folder above it";
    fs::path source = fs::path(__FILE__).parent_path().parent_path().parent_path();
    if (source.is_absolute() && exe.string().rfind(source.string() + "/", 0) != 0) {
      text += " and " + source.string();
    }
    return text;
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) text += (i ? ", " : "") + candidates[i].string();
  return text;
}

const std::string& default_web_root() {
  static const std::string root = find_in_repository("web", "index.html");
  return root;
}

const std::string& default_client_dist() {
  static const std::string dist = find_in_repository("node_modules/socket.io-client/dist", "socket.io.js");
  return dist;
}

const std::string& default_admin_ui_dist() {
  static const std::string dist = find_in_repository("node_modules/@socket.io/admin-ui/ui/dist", "index.html");
  return dist;
}

const std::vector<std::string_view>& client_file_names() {
  static const std::vector<std::string_view> names = {
      "socket.io.esm.min.js", "socket.io.esm.min.js.map", "socket.io.js",
      "socket.io.js.map",     "socket.io.min.js",         "socket.io.min.js.map",
      "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
  };
  return names;
}

std::shared_ptr<const ClientBundle> ClientBundle::load(const std::string& dist) {
  auto bundle = std::make_shared<ClientBundle>();
  fs::path dir(dist);
  bundle->dist_ = dist;
  auto package = read_file(dir.parent_path() / "package.json");
  if (!package) throw std::runtime_error(dist + ": no ../package.json to take the client's version from");
  boost::system::error_code ec;
  auto parsed = boost::json::parse(*package, ec);
  const boost::json::value* version = parsed.is_object() ? parsed.as_object().if_contains("version") : nullptr;
  if (ec || !version || !version->is_string()) {
    throw std::runtime_error((dir.parent_path() / "package.json").string() + ": no \"version\" string");
  }
  bundle->version_ = version->as_string();
  bundle->etag_ = "\"" + bundle->version_ + "\"";
  for (std::string_view name : client_file_names()) {
    auto body = read_file(dir / name);
    if (!body) continue;
    File file;
    file.map = name.ends_with(".map");
    // Sent compressed only where that is smaller.
    if (!http::compress(*body, http::ContentCoding::gzip, file.gzip, 9) || file.gzip.size() >= body->size()) {
      file.gzip.clear();
    }
    file.body = std::move(*body);
    bundle->files_.emplace(std::string(name), std::move(file));
  }
  if (!bundle->files_.contains("socket.io.js")) throw std::runtime_error(dist + ": no socket.io.js");
  return bundle;
}

void ClientBundle::serve(std::string_view name, http::Request& req, http::Response& res) const {
  auto it = files_.find(name);
  if (it == files_.end()) {
    res.send(404, "Not Found\n");
    return;
  }
  const File& file = it->second;
  // Node's socket.io answers a matching If-None-Match with a bare 304 (no other headers).
  if (std::string_view inm = req.header("If-None-Match"); !inm.empty() && etag_matches(inm, etag_)) {
    res.status(304).send();
    return;
  }
  res.header("Cache-Control", "public, max-age=0").header("ETag", etag_);
  std::string_view type = file.map ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8";
  if (!file.gzip.empty()) {
    res.header("Vary", "Accept-Encoding");
    // x-gzip: gzip's old name, which RFC 9110 §8.4.1.3 says to take as gzip.
    if (http::accepts_coding(req.header("Accept-Encoding"), "gzip", "x-gzip")) {
      res.header("Content-Encoding", "gzip");
      res.send(200, file.gzip, type);
      return;
    }
  }
  res.send(200, file.body, type);
}

void mount_client_bundle(http::Router& router, std::shared_ptr<const ClientBundle> bundle, std::string_view prefix) {
  for (std::string_view name : client_file_names()) {
    std::string path = std::string(prefix) + std::string(name);
    if (bundle) {
      router.get(path, [bundle, name](http::Request& req, http::Response& res) { bundle->serve(name, req, res); });
    } else {
      router.get(path, [](http::Request&, http::Response& res) {
        res.send(404, "socket.io-client is not installed: run `npm ci` at the repository root\n");
      });
    }
  }
}

}  // namespace switchboard::app
