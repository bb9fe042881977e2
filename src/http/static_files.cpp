#include <switchboard/http.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace switchboard::http {
namespace {

namespace fs = std::filesystem;

// Files larger than this are refused rather than read into memory whole; static files
// here are the demo pages and their scripts.
constexpr std::uintmax_t max_static_file = 64 * 1024 * 1024;

std::string_view content_type(const fs::path& path) {
  static const std::pair<std::string_view, std::string_view> types[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".xml", "application/xml"},
      {".pdf", "application/pdf"},
  };
  std::string extension = path.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [ext, type] : types) {
    if (extension == ext) return type;
  }
  return "application/octet-stream";
}

// Whether `path` is `root` or lies under it (both canonical).
bool inside(const fs::path& root, const fs::path& path) {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    if (p == path.end() || *r != *p) return false;
  }
  return true;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  // A comma-separated list of entity tags, or "*"; weak comparison (RFC 9110 §13.1.2).
  auto strip_weak = [](std::string_view tag) {
    return tag.starts_with("W/") ? tag.substr(2) : tag;
  };
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    std::string_view tag = if_none_match.substr(0, comma);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag == "*" || strip_weak(tag) == strip_weak(etag)) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

Handler serve_static(std::string root_text) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::absolute(root_text), ec);
  if (ec || !fs::is_directory(root)) {
    throw std::runtime_error("static file root '" + root_text + "' is not a directory");
  }
  return [root](Request& req, Response& res) {
    std::string_view relative = req.param("*");
    // Segments of ".." never reach the file system; the canonical check below also
    // catches symbolic links that lead out of the root.
    fs::path candidate = root;
    std::size_t start = 0;
    while (start <= relative.size()) {
      auto slash = relative.find('/', start);
      if (slash == std::string_view::npos) slash = relative.size();
      std::string_view segment = relative.substr(start, slash - start);
      if (segment == "..") {
        res.send(404, "Not Found\n");
        return;
      }
      if (!segment.empty() && segment != ".") candidate /= std::string(segment);
      start = slash + 1;
    }
    std::error_code error;
    fs::path path = fs::weakly_canonical(candidate, error);
    if (!error && fs::is_directory(path, error)) path = fs::weakly_canonical(path / "index.html", error);
    struct stat info {};
    if (error || !inside(root, path) || ::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
      res.send(404, "Not Found\n");
      return;
    }
    if (static_cast<std::uintmax_t>(info.st_size) > max_static_file) {
      res.send(500, "file too large to serve\n");
      return;
    }
    char etag[64];
    std::snprintf(etag, sizeof etag, "W/\"%llx-%llx\"", static_cast<unsigned long long>(info.st_size),
                  static_cast<unsigned long long>(info.st_mtim.tv_sec) * 1000000000ull +
                      static_cast<unsigned long long>(info.st_mtim.tv_nsec));
    res.header("ETag", etag).header("Cache-Control", "no-cache");
    if (std::string_view inm = req.header("If-None-Match"); !inm.empty() && etag_matches(inm, etag)) {
      res.status(304).send();
      return;
    }
    std::ifstream file(path, std::ios::binary);
    std::ostringstream contents;
    contents << file.rdbuf();
    if (!file && !file.eof()) {
      res.send(500, "cannot read file\n");
      return;
    }
    res.send(200, contents.str(), content_type(path));
  };
}

}  // namespace switchboard::http
