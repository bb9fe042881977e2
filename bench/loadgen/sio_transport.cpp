#include "sio_transport.hpp"

#include <cstring>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "eio_transport.hpp"
#include "options.hpp"
#include "sio/codec/packet.hpp"

namespace switchboard::loadgen {
namespace {

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::string_view view(const boost::json::string& s) { return {s.data(), s.size()}; }

const char* name_of(sio::DecodeError error) {
  switch (error) {
    case sio::DecodeError::none: return "none";
    case sio::DecodeError::empty: return "empty packet";
    case sio::DecodeError::unknown_type: return "unknown packet type";
    case sio::DecodeError::bad_attachment_count: return "bad attachment count";
    case sio::DecodeError::bad_namespace: return "bad namespace";
    case sio::DecodeError::bad_ack_id: return "bad ack id";
    case sio::DecodeError::bad_json: return "bad JSON";
    case sio::DecodeError::invalid_payload: return "payload of the wrong shape for its type";
    case sio::DecodeError::illegal_attachments: return "a placeholder names no attachment";
  }
  return "?";
}

// What every session of one factory shares: the fixed texts of the hot path.
struct SioShared {
  std::string emit_text_head;     // 2["EMIT","
  std::string emit_binary_head;   // 51-["EMIT",{"_placeholder":true,"num":0}]
  std::string listen_text_head;   // 2["LISTEN","
  std::string listen_binary_head; // 51-["LISTEN",{"_placeholder":true,"num":0}]
  std::string listen_event;
  bool packets = false;  // SioConfig::packets
};

std::string event_head(std::string_view event) {
  std::string out = "2[\"";
  append_json_string_body(out, event);
  out += "\",\"";
  return out;
}

std::string binary_head(std::string_view event) {
  std::string out = "51-[\"";
  append_json_string_body(out, event);
  out += R"(",{"_placeholder":true,"num":0}])";
  return out;
}

class SioTransport final : public Transport, private TransportEvents {
 public:
  SioTransport(std::unique_ptr<Transport> eio, const SioShared& shared) : eio_(std::move(eio)), shared_(shared) {}

  unsigned channels() const noexcept override { return eio_->channels(); }
  void start(unsigned channel, Outputs& out) override { eio_->start(channel, out); }

  FeedStatus feed(unsigned channel, std::span<std::byte> input, TransportEvents& events, Outputs& out) override {
    if (!error_.empty()) return FeedStatus::failed;
    events_ = &events;
    out_ = &out;
    FeedStatus status = eio_->feed(channel, input, *this, out);
    events_ = nullptr;
    out_ = nullptr;
    return error_.empty() ? status : FeedStatus::failed;
  }

  void send(std::span<const std::byte> payload, bool binary, Outputs& out) override {
    if (shared_.packets) {
      eio_->send(payload, false, out);
      return;
    }
    if (binary) {
      eio_->send(as_bytes(shared_.emit_binary_head), false, out);
      eio_->send(payload, true, out);
      return;
    }
    text_.assign(shared_.emit_text_head);
    append_json_string_body(text_, as_text(payload));
    text_.append("\"]");
    eio_->send(as_bytes(text_), false, out);
  }

  void close(Outputs& out) override {
    if (connected_ && !disconnected_) eio_->send(as_bytes("1"), false, out);  // DISCONNECT from "/"
    disconnected_ = true;
    eio_->close(out);
  }

  void before_flush(Outputs& out) override { eio_->before_flush(out); }
  bool server_closes_tcp() const noexcept override { return eio_->server_closes_tcp(); }
  bool closed_by_peer() const noexcept override { return closed_by_peer_ || eio_->closed_by_peer(); }
  std::string_view error() const noexcept override { return error_.empty() ? eio_->error() : error_; }

 private:
  // The Engine.IO session is open: join the main namespace, as socket.io-client does
  // at once. The session opens for the scenario with the server's CONNECT answer.
  void on_open() override { eio_->send(as_bytes("0"), false, *out_); }  // CONNECT to "/"

  void on_message(std::span<const std::byte> payload, bool binary) override {
    if (!error_.empty()) return;  // the rest of this read is dropped with the session
    std::string_view text = as_text(payload);
    if (binary) {
      if (attachment_pending_) {  // the hot path's binary event
        attachment_pending_ = false;
        events_->on_message(payload, true);
        return;
      }
      on_decoded(decoder_.add_binary(text), text);
      return;
    }
    if (attachment_pending_) {
      error_ = "a text packet where an attachment was due";
      return;
    }
    if (connected_ && decoder_.idle() && shared_.packets) {
      bool event = text.size() >= 2 && text[0] == '2' && text[1] == '[';
      bool ack = text.size() >= 2 && text[0] == '3' && text[1] >= '0' && text[1] <= '9';
      if (event || ack) {
        events_->on_message(payload, false);
        return;
      }
    } else if (connected_ && decoder_.idle()) {
      const std::string& head = shared_.listen_text_head;
      if (text.size() >= head.size() + 2 && text.compare(0, head.size(), head) == 0 &&
          text.compare(text.size() - 2, 2, "\"]") == 0) {
        std::string_view body = text.substr(head.size(), text.size() - head.size() - 2);
        if (body.find_first_of("\"\\") == std::string_view::npos) {
          events_->on_message(as_bytes(body), false);
          return;
        }
      }
      if (text == shared_.listen_binary_head) {
        attachment_pending_ = true;
        return;
      }
    }
    on_decoded(decoder_.add_text(text), text);
  }

  // The codec's path: everything but the hot path's two shapes.
  void on_decoded(sio::Decoder::Status status, std::string_view text) {
    if (status == sio::Decoder::Status::need_attachments) {
      if (packet_text_.empty()) packet_text_.assign(text);
      return;
    }
    if (status == sio::Decoder::Status::error) {
      error_ = std::string("malformed Socket.IO packet (") + name_of(decoder_.error()) +
               "): " + std::string(text.substr(0, 80));
      return;
    }
    std::string whole = packet_text_.empty() ? std::string(text) : std::move(packet_text_);
    packet_text_.clear();
    sio::Packet& packet = decoder_.packet();
    if (packet.nsp != "/") {
      error_ = "a packet for namespace " + packet.nsp;
      return;
    }
    switch (packet.type) {
      case sio::PacketType::connect: {
        const auto* object = packet.data.if_object();
        const auto* sid = object ? object->if_contains("sid") : nullptr;
        if (connected_ || !sid || !sid->is_string() || sid->get_string().empty()) {
          error_ = connected_ ? "a second CONNECT answer" : "a CONNECT answer without a sid";
          return;
        }
        connected_ = true;
        events_->on_open();
        return;
      }
      case sio::PacketType::connect_error: {
        error_ = "CONNECT refused";
        if (const auto* object = packet.data.if_object()) {
          if (const auto* message = object->if_contains("message"); message && message->is_string()) {
            error_ += ": ";
            error_ += view(message->get_string());
          }
        } else if (packet.data.is_string()) {
          error_ += ": ";
          error_ += view(packet.data.get_string());
        }
        return;
      }
      case sio::PacketType::disconnect:
        // The server disconnected the socket; the Engine.IO session has no other use.
        closed_by_peer_ = true;
        if (!disconnected_) {
          disconnected_ = true;
          eio_->close(*out_);
        }
        return;
      case sio::PacketType::event:
      case sio::PacketType::binary_event: {
        if (!connected_) {
          error_ = "an event before the CONNECT answer";
          return;
        }
        if (shared_.packets) {
          events_->on_message(as_bytes(whole), false);
          return;
        }
        const auto& args = packet.data.get_array();  // the codec checked: non-empty, named
        if (!args[0].is_string() || view(args[0].get_string()) != shared_.listen_event) {
          error_ = "unexpected event " + boost::json::serialize(args[0]);
          return;
        }
        if (args.size() == 2 && args[1].is_string() && packet.type == sio::PacketType::event) {
          events_->on_message(as_bytes(view(args[1].get_string())), false);
        } else if (args.size() == 2 && packet.attachments.size() == 1 && args[1].is_object()) {
          events_->on_message(as_bytes(packet.attachments[0]), true);
        } else {
          events_->on_message(as_bytes(whole), false);  // the wrong shape: a mismatch
        }
        return;
      }
      case sio::PacketType::ack:
      case sio::PacketType::binary_ack:
        if (shared_.packets) {
          events_->on_message(as_bytes(whole), false);
          return;
        }
        error_ = "an ack, though no emit asked for one";
        return;
    }
  }

  std::unique_ptr<Transport> eio_;
  const SioShared& shared_;
  sio::Decoder decoder_;
  TransportEvents* events_ = nullptr;  // during feed()
  Outputs* out_ = nullptr;             // during feed()
  std::string text_;                   // the event being sent
  std::string packet_text_;            // a binary packet's text while its attachments arrive
  std::string error_;
  bool connected_ = false;             // the CONNECT answer arrived
  bool disconnected_ = false;          // DISCONNECT sent or received, Engine.IO closing
  bool closed_by_peer_ = false;
  bool attachment_pending_ = false;    // the hot path's binary event waits for its attachment
};

class SioFactory final : public TransportFactory {
 public:
  SioFactory(const Url& url, SioOver over, const SioConfig& config) {
    Url target = url;
    if (!config.query.empty()) {
      target.path += (target.path.find('?') == std::string::npos ? "?" : "&") + config.query;
    }
    switch (over) {
      case SioOver::websocket: eio_ = make_eio_websocket_factory(target); break;
      case SioOver::polling: eio_ = make_eio_polling_factory(target, false); break;
      case SioOver::polling_one_channel: eio_ = make_eio_polling_factory(target, true); break;
    }
    shared_.emit_text_head = event_head(config.emit_event);
    shared_.emit_binary_head = binary_head(config.emit_event);
    shared_.listen_text_head = event_head(config.listen_event);
    shared_.listen_binary_head = binary_head(config.listen_event);
    shared_.listen_event = config.listen_event;
    shared_.packets = config.packets;
  }

  std::unique_ptr<Transport> create(Random& random) const override {
    return std::make_unique<SioTransport>(eio_->create(random), shared_);
  }

 private:
  std::unique_ptr<TransportFactory> eio_;
  SioShared shared_;
};

}  // namespace

void append_json_string_body(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t plain = 0;  // the run of bytes that need no escape, appended at once
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(plain, i - plain));
    plain = i + 1;
    out += '\\';
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '\b': out += 'b'; break;
      case '\f': out += 'f'; break;
      case '\n': out += 'n'; break;
      case '\r': out += 'r'; break;
      case '\t': out += 't'; break;
      default:
        out += "u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(text.substr(plain));
}

std::unique_ptr<TransportFactory> make_sio_factory(const Url& url, SioOver over, const SioConfig& config) {
  return std::make_unique<SioFactory>(url, over, config);
}

}  // namespace switchboard::loadgen
