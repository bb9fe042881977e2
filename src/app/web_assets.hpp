#pragma once
// What the binary serves besides its own routes, and where it finds it:
//
// - the demo pages, the repository's web/ folder (the `static` key's default);
// - the @socket.io/admin-ui package's ui/dist folder (the `admin-ui-dist` key's
//   default), served at /admin/ when the admin UI is on;
// - the official browser client, the socket.io-client npm package's dist/ folder that
//   `npm ci` at the repository root installs (the `client-dist` key's default), served at
//   /socket.io/socket.io.js and its siblings the way Node's socket.io serves its bundle
//   (socket.io/lib/index.ts, serve()): Content-Type application/javascript (maps
//   application/json), ETag "<client version>" with 304, Cache-Control public,
//   max-age=0; gzip when the client accepts it.
//
// The repository is looked for where a build puts the binary (build/<preset>/switchboard
// lies inside it): every ancestor of the executable's folder, then the source tree this
// file was compiled from, so a binary copied elsewhere on the build machine still finds
// it. Nothing here is required: a missing folder only means that part is not served.
//
// Thread safety: the finders may be called from any thread (their answers are computed
// once); the handlers run on the loop threads and only read what load() read.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <switchboard/http.hpp>

namespace switchboard::app {

// The folders that may hold the repository, in the order they are tried.
std::vector<std::filesystem::path> repository_candidates();
// `relative` under the first candidate where `probe` (a file under it) exists, or empty.
std::string find_in_repository(std::string_view relative, std::string_view probe);
// Where find_in_repository looked, for a log line ("web under /repo/build/release or a
// folder above it").
std::string describe_search(std::string_view relative);

// <repo>/web when it holds index.html; else empty. Computed once.
const std::string& default_web_root();
// <repo>/node_modules/socket.io-client/dist when it holds socket.io.js; else empty.
const std::string& default_client_dist();

// <repo>/node_modules/@socket.io/admin-ui/ui/dist when it holds index.html; else empty.
const std::string& default_admin_ui_dist();

// The client files Node's socket.io serves under its path (its CLIENT_FILES).
const std::vector<std::string_view>& client_file_names();

// The bundle as read at startup: each file (and its gzip) in memory, about 1 MB in all.
class ClientBundle {
 public:
  // Reads the client files present in `dist` and the version from `dist`/../package.json.
  // Throws std::runtime_error naming the path when socket.io.js or the version is missing.
  static std::shared_ptr<const ClientBundle> load(const std::string& dist);

  const std::string& version() const noexcept { return version_; }
  const std::string& dist() const noexcept { return dist_; }
  std::size_t file_count() const noexcept { return files_.size(); }

  // The handler of GET/HEAD <prefix><name>.
  void serve(std::string_view name, http::Request& req, http::Response& res) const;

 private:
  struct File {
    std::string body;
    std::string gzip;  // empty when compression did not shrink it
    bool map = false;
  };
  std::string dist_;
  std::string version_;
  std::string etag_;  // "\"<version>\"", quoted as RFC 9110 §8.8.3 asks (and Node sends)
  std::map<std::string, File, std::less<>> files_;
};

// Registers GET <prefix><name> for every client file name. With a bundle, the files it
// holds are served and the others answer 404; without one (nullptr) every name answers
// 404, so that the Engine.IO endpoint mounted at the same prefix never sees them. Register
// before the Socket.IO server attaches: routes are tried in the order added.
void mount_client_bundle(http::Router& router, std::shared_ptr<const ClientBundle> bundle,
                         std::string_view prefix = "/socket.io/");

}  // namespace switchboard::app
