// chat: the chat contract of DESIGN.md under a realistic load. --connections clients
// (Socket.IO, namespace "/"), client i in room i % --rooms. Each joins its room with an
// ack as soon as it is open; the load starts once every open client's join is answered
// (main.cpp waits for it before the warmup). Then each client, from a random point of its
// first --period on, every --period seconds emits `typing` {roomId, username} and, a
// moment later (1 s, at most half the period: someone typing, then sending), emits
// `send-message` {roomId, message} with an ack. Each message carries its send time and
// is otherwise a function of (sender, number) (chat_codec.hpp), so every member checks
// each new-message byte for byte, that it comes from a client of its own room, and that
// each sender's numbers follow each other (a gap is a lost message), and records now −
// send time: the clients are all in this process, so the clock is shared.
//
// What a client receives and how it counts (ChatShared): new-message → deliveries (and
// the latency); user-typing (from another member of its room) → typing deliveries; its
// acks, in order → acks; user-joined, user-left and online-users are expected and not
// counted. Errors, each also a mismatch: a refused or out-of-order ack, a lost message,
// rate-limited, and anything else.
//
// Clients send on a fixed schedule (an open loop: a server that falls behind builds a
// queue, and the latency shows it). The schedule is a heap of due times, so a turn costs
// what is due, not a look at every client.

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <queue>
#include <string>
#include <vector>

#include "chat_codec.hpp"
#include "clock.hpp"
#include "ramp.hpp"
#include "scenario.hpp"
#include "worker.hpp"

namespace switchboard::loadgen {
namespace {

// How long before its message a client emits typing: a second, or half the period.
constexpr double typing_lead_s = 1.0;
// Checking each sender's numbers keeps one counter per (member, room-mate); past this
// many counters in all the check is left out (say, 10,000 clients in one room: 400 MB).
constexpr std::uint64_t max_sequence_counters = 64ull << 20;
constexpr std::uint64_t join_ack_id = 0;  // the join's ack; send-message k (from 0) has k + 1

std::int64_t realtime_offset_ns() {
  timespec real{};
  clock_gettime(CLOCK_REALTIME, &real);
  return std::int64_t{real.tv_sec} * ns_per_s + real.tv_nsec - now_ns();
}

std::uint32_t ceil_div(std::uint32_t a, std::uint32_t b) { return (a + b - 1) / b; }

class ChatScenario final : public Scenario {
 public:
  ChatScenario(const Options& options, unsigned share, unsigned first_client, ChatShared& shared)
      : options_(options),
        ramp_(share, options.ramp_concurrency / options.threads / options.sockets_per_session()),
        next_client_(first_client),
        last_client_(first_client + share),
        shared_(shared),
        codec_(options.rooms, options.size, realtime_offset_ns()),
        period_ns_(static_cast<std::int64_t>(options.period_s * ns_per_s)),
        lead_ns_(static_cast<std::int64_t>(std::min(typing_lead_s, options.period_s / 2) * ns_per_s)),
        room_size_(ceil_div(options.connections, options.rooms)),
        check_sequences_(std::uint64_t{options.connections} * room_size_ <= max_sequence_counters) {
    if (!check_sequences_ && first_client == 0) {
      std::fprintf(stderr, "sb-loadgen: chat: %u clients per room is too many to check for lost messages\n",
                   room_size_);
    }
  }

  void on_turn(Worker& worker) override {
    ramp_.step(worker);
    Phase phase = worker.phase();
    if (phase == Phase::done) stopped_ = true;  // and no more wake-ups for what is due
    if (phase == Phase::ramp || stopped_) return;
    std::int64_t now = now_ns();
    if (!started_) {
      started_ = true;
      for (std::uint32_t slot = 0; slot < clients_.size(); ++slot) {
        if (clients_[slot].open) schedule_first(worker, slot, now);
      }
    }
    while (!due_.empty() && due_.top().at <= now) {
      Due next = due_.top();
      due_.pop();
      Client& client = clients_[next.slot];
      if (!client.open || client.generation != next.generation) continue;  // closed since
      Connection& c = *client.connection;
      packet_.clear();
      if (next.typing) {
        codec_.typing(packet_, client.number);
        shared_.typing_sent.fetch_add(1, std::memory_order_relaxed);
        due_.push({next.at + lead_ns_, next.slot, next.generation, false});
      } else {
        ChatMessageId id{now, client.number, client.messages_sent++};
        codec_.send_message(packet_, id.seq + 1, id);
        shared_.messages_sent.fetch_add(1, std::memory_order_relaxed);
        due_.push({next.at - lead_ns_ + period_ns_, next.slot, next.generation, true});
      }
      worker.send(c, as_bytes(packet_), false);
    }
  }

  std::int64_t wake_at() const override { return started_ && !stopped_ && !due_.empty() ? due_.top().at : 0; }

  void on_open(Worker& worker, Connection& c) override {
    if (clients_.size() <= c.slot) clients_.resize(c.slot + 1);
    Client& client = clients_[c.slot];
    if (next_client_ == last_client_) {  // more opened than this worker's share: cannot be
      worker.stats().mismatches.add();
      shared_.unexpected.fetch_add(1, std::memory_order_relaxed);
      worker.close(c);
      return;
    }
    client = Client{};
    client.connection = &c;
    client.number = next_client_++;
    client.generation = ++generations_;
    client.open = true;
    client.join_settled = false;
    if (check_sequences_) {
      if (next_seq_.size() < (c.slot + 1) * std::size_t{room_size_}) next_seq_.resize((c.slot + 1) * std::size_t{room_size_});
      std::fill_n(next_seq_.begin() + c.slot * std::size_t{room_size_}, room_size_, 0u);
    }
    packet_.clear();
    codec_.join_room(packet_, join_ack_id, codec_.room_of(client.number));
    worker.send(c, as_bytes(packet_), false);
    if (started_) schedule_first(worker, c.slot, now_ns());
  }

  void on_closed(Worker& worker, Connection& c, Outcome outcome) override {
    if (!c.opened || c.slot >= clients_.size() || !clients_[c.slot].open) return;
    Client& client = clients_[c.slot];
    client.open = false;
    if (!client.join_settled) settle_join(client);  // the ramp waits for no answer it will not get
  }

  void on_message(Worker& worker, Connection& c, std::span<const std::byte> payload, bool binary) override {
    Client& client = clients_[c.slot];
    std::string_view packet(reinterpret_cast<const char*>(payload.data()), payload.size());
    switch (ChatCodec::classify(packet)) {
      case ChatPacketKind::new_message: on_new_message(worker, c, client, packet); return;
      case ChatPacketKind::user_typing: {
        std::uint32_t typist = 0;
        if (ChatCodec::read_user_typing(packet, typist) && typist != client.number &&
            codec_.room_of(typist) == codec_.room_of(client.number)) {
          shared_.typing_deliveries.fetch_add(1, std::memory_order_relaxed);
        } else {
          unexpected(worker);
        }
        return;
      }
      case ChatPacketKind::ack: on_ack(worker, client, packet); return;
      case ChatPacketKind::user_joined:
      case ChatPacketKind::user_left:
      case ChatPacketKind::online_users: return;  // room-mates joining; nothing to check
      case ChatPacketKind::rate_limited:
        shared_.rate_limited.fetch_add(1, std::memory_order_relaxed);
        worker.stats().mismatches.add();
        return;
      case ChatPacketKind::other: unexpected(worker); return;
    }
  }

 private:
  struct Client {
    Connection* connection = nullptr;
    std::uint32_t number = 0;         // the client's number: its room, its messages' sender
    std::uint32_t generation = 0;     // tells this client's schedule from a slot's earlier one
    std::uint32_t messages_sent = 0;
    std::uint64_t acks_received = 0;  // the id the next ack must carry
    bool open = false;
    bool join_settled = false;        // the join's ack came, or the client closed first
  };

  struct Due {
    std::int64_t at;
    std::uint32_t slot;
    std::uint32_t generation;
    bool typing;  // typing, or the message after it
    bool operator>(const Due& o) const noexcept { return at > o.at; }
  };

  static std::span<const std::byte> as_bytes(const std::string& text) {
    return std::as_bytes(std::span(text.data(), text.size()));
  }

  void schedule_first(Worker& worker, std::uint32_t slot, std::int64_t now) {
    auto offset = static_cast<std::int64_t>(worker.random().next() % static_cast<std::uint64_t>(period_ns_));
    due_.push({now + offset, slot, clients_[slot].generation, true});
  }

  void settle_join(Client& client) {
    client.join_settled = true;
    shared_.joins_settled.fetch_add(1, std::memory_order_relaxed);
  }

  void unexpected(Worker& worker) {
    shared_.unexpected.fetch_add(1, std::memory_order_relaxed);
    worker.stats().mismatches.add();
  }

  void on_new_message(Worker& worker, Connection& c, Client& client, std::string_view packet) {
    ChatMessageId id;
    if (!codec_.read_new_message(packet, id, scratch_) || id.sender >= options_.connections ||
        codec_.room_of(id.sender) != codec_.room_of(client.number)) {
      unexpected(worker);
      return;
    }
    shared_.deliveries.fetch_add(1, std::memory_order_relaxed);
    if (check_sequences_) {
      std::uint32_t& expected = next_seq_[c.slot * std::size_t{room_size_} + id.sender / options_.rooms];
      if (id.seq > expected) {
        shared_.lost.fetch_add(id.seq - expected, std::memory_order_relaxed);
        worker.stats().mismatches.add(id.seq - expected);
      } else if (id.seq < expected) {
        unexpected(worker);  // a repeat, or out of order
      }
      expected = std::max(expected, id.seq + 1);
    }
    auto now = worker.now();
    if (worker.phase() == Phase::measure && now >= id.sent_ns) {
      worker.histogram().record(static_cast<std::uint64_t>(now - id.sent_ns));
    }
  }

  void on_ack(Worker& worker, Client& client, std::string_view packet) {
    std::uint64_t ack_id = 0;
    bool success = false;
    bool in_order = ChatCodec::read_ack(packet, ack_id, success) && ack_id == client.acks_received &&
                    ack_id <= client.messages_sent;
    if (in_order) ++client.acks_received;
    if (in_order && ack_id == join_ack_id) {
      settle_join(client);
      if (success) shared_.joined.fetch_add(1, std::memory_order_relaxed);
    }
    if (in_order && success) {
      if (ack_id != join_ack_id) shared_.acks.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    shared_.ack_failures.fetch_add(1, std::memory_order_relaxed);
    worker.stats().mismatches.add();
  }

  const Options& options_;
  Ramp ramp_;
  std::uint32_t next_client_;  // the number the next client to open gets
  std::uint32_t last_client_;  // one past this worker's numbers
  ChatShared& shared_;
  ChatCodec codec_;
  std::int64_t period_ns_;
  std::int64_t lead_ns_;
  std::uint32_t room_size_;    // the most clients one room holds
  bool check_sequences_;
  bool started_ = false;                // the schedule began (the ramp is over)
  bool stopped_ = false;                // the window closed: nothing more is sent
  std::uint32_t generations_ = 0;
  std::vector<Client> clients_;         // by slot
  std::vector<std::uint32_t> next_seq_; // by slot × room-mate (sender / rooms): the number due next
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  std::string packet_;
  std::string scratch_;
};

}  // namespace

std::unique_ptr<Scenario> make_chat_scenario(const Options& options, unsigned share, unsigned first_client,
                                             ChatShared& shared) {
  return std::make_unique<ChatScenario>(options, share, first_client, shared);
}

}  // namespace switchboard::loadgen
