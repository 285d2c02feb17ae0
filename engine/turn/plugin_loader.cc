#include "engine/turn/plugin_loader.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/text.h"
#include "modelpin/plugin_v1.h"

namespace modelpin {
namespace {

modelpin_str Str(std::string_view s) { return {s.data(), s.size()}; }
std::string OrEmpty(const char* s) { return s ? s : ""; }

// A command word or plugin name: [a-z0-9_-]+, at most 64 bytes.
bool IsWord(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// What a plugin returned for one message, collected by the host callbacks. The first problem
// found is kept; everything after it is ignored.
struct Collected {
  const std::string* prefix;  // "<name>."
  std::vector<Reply> replies;
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;  // nullopt: erase
  std::string problem;

  bool Check(bool ok, std::string_view what) {
    if (!ok && problem.empty()) problem = what;
    return ok && problem.empty();
  }
  bool CheckKey(const char* key, size_t size) {
    std::string_view k(key ? key : "", key ? size : 0);
    return Check(key != nullptr || size == 0, "a field key points nowhere") &&
           Check(k.size() > prefix->size() && k.substr(0, prefix->size()) == *prefix &&
                     k.size() <= kPluginMaxFieldKeyBytes,
                 absl::StrCat("a field key outside its namespace \"", *prefix, "\"")) &&
           Check(text::IsValidUtf8(k), "a field key that is not valid UTF-8") &&
           Check(changes.size() < kPluginMaxFieldChanges, "too many field changes");
  }
};

Collected& Of(modelpin_result_v1* out) { return *reinterpret_cast<Collected*>(out); }

void HostReply(modelpin_result_v1* out, const char* text, size_t size, int is_error) {
  Collected& c = Of(out);
  if (!c.Check(text != nullptr || size == 0, "a reply points nowhere")) return;
  std::string_view t(text ? text : "", text ? size : 0);
  if (!c.Check(c.replies.size() < kPluginMaxReplies, "too many replies")) return;
  if (!c.Check(t.size() <= kPluginMaxReplyBytes, "a reply longer than 16 KiB")) return;
  if (!c.Check(text::IsValidUtf8(t), "a reply that is not valid UTF-8")) return;
  c.replies.push_back({std::string(t), is_error != 0});
}

void HostSetField(modelpin_result_v1* out, const char* key, size_t key_size, const char* value, size_t value_size) {
  Collected& c = Of(out);
  if (!c.CheckKey(key, key_size)) return;
  if (!c.Check(value != nullptr || value_size == 0, "a field value points nowhere")) return;
  std::string_view v(value ? value : "", value ? value_size : 0);
  if (!c.Check(v.size() <= kPluginMaxFieldValueBytes, "a field value longer than 4 KiB")) return;
  if (!c.Check(text::IsValidUtf8(v), "a field value that is not valid UTF-8")) return;
  c.changes.emplace_back(std::string(key, key_size), std::string(v));
}

void HostEraseField(modelpin_result_v1* out, const char* key, size_t key_size) {
  Collected& c = Of(out);
  if (!c.CheckKey(key, key_size)) return;
  c.changes.emplace_back(std::string(key, key_size), std::nullopt);
}

constexpr modelpin_host_v1 kHost = {sizeof(modelpin_host_v1), HostReply, HostSetField, HostEraseField};

// The route view's storage: the strings the modelpin_profile_v1 entries point into.
struct ProfileViews {
  std::vector<std::string> masked;
  std::vector<std::string> env_providers;
  std::vector<modelpin_profile_v1> profiles;
};

void DescribeRoute(const TurnContext& ctx, const std::vector<std::string>& ids, ProfileViews& v) {
  v.masked.reserve(ids.size());
  for (const auto& id : ids) {
    modelpin_profile_v1 p{};
    p.id = Str(id);
    if (id.rfind("env:", 0) == 0) {
      const EnvCredential* e = nullptr;
      if (ctx.env)
        for (const auto& c : ctx.env->all())
          if (c.ProfileId() == id) e = &c;
      v.masked.push_back(e ? MaskedCredential(*e, ctx.config.masking()) : "missing");
      p.provider = e ? Str(e->provider) : Str("");
      p.type = Str("env");
    } else if (const Credential* c = ctx.auth.Find(id)) {
      v.masked.push_back(MaskedCredential(*c, ctx.config.masking()));
      p.provider = Str(c->provider);
      p.type = Str(c->type);
      UsageStats u = ctx.auth.Usage(id);
      p.last_used_ms = u.last_used;
      p.cooldown_until_ms = u.cooldown_until;
      p.disabled_until_ms = u.disabled_until;
      p.error_count = u.error_count;
      p.expires_ms = c->expires.value_or(0);
    } else {
      v.masked.push_back("missing");
    }
    p.masked = Str(v.masked.back());  // reserved above: the string does not move
    v.profiles.push_back(p);
  }
}

class NativePlugin : public Plugin {
 public:
  NativePlugin(const modelpin_plugin_v1* d, void* state, void* handle, std::string source, std::vector<CommandInfo> commands)
      : d_(d), state_(state), handle_(handle), name_(d->name), prefix_(name_ + "."), source_(std::move(source)),
        commands_(std::move(commands)) {}
  ~NativePlugin() override {
    if (d_->shutdown) d_->shutdown(state_);
    if (handle_) dlclose(handle_);
  }
  NativePlugin(const NativePlugin&) = delete;
  NativePlugin& operator=(const NativePlugin&) = delete;

  std::string_view name() const override { return name_; }
  std::string_view source() const override { return source_; }
  std::vector<CommandInfo> Commands() const override { return commands_; }

  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    const CommandInfo* command = Find(text);
    if (command == nullptr) return std::nullopt;
    if (command->owner_only && !ctx.sender_is_owner)
      return std::vector<Reply>{{absl::StrCat("/", command->name, " is for owners only."), true}};

    // The turn view: the plugin's own fields, and the route this message would take.
    std::vector<modelpin_field_v1> fields;
    for (auto it = ctx.session.plugin_state.lower_bound(prefix_);
         it != ctx.session.plugin_state.end() && it->first.rfind(prefix_, 0) == 0; ++it)
      fields.push_back({Str(it->first), Str(it->second)});
    const ModelRef model = ctx.CurrentModel();
    const std::vector<std::string> ids = ctx.RouteProfilesFor(model);
    ProfileViews profiles;
    DescribeRoute(ctx, ids, profiles);
    modelpin_turn_v1 turn{};
    turn.struct_size = sizeof(turn);
    turn.agent_id = Str(ctx.agent_id);
    turn.session_key = Str(ctx.session_key);
    turn.sender = Str(ctx.sender);
    turn.text = Str(text);
    turn.sender_is_owner = ctx.sender_is_owner ? 1 : 0;
    turn.now_ms = ctx.now_ms;
    turn.fields = fields.data();
    turn.field_count = fields.size();
    turn.provider = Str(model.provider);
    turn.model = Str(model.model);
    turn.profiles = profiles.profiles.data();
    turn.profile_count = profiles.profiles.size();

    Collected out{&prefix_, {}, {}, {}};
    const int consumed = d_->handle(state_, &turn, &kHost, reinterpret_cast<modelpin_result_v1*>(&out));
    if (!out.problem.empty()) return Refuse(ctx, out.problem);
    // 1 consumed, 0 declined; anything else is a failure (sdk/modelpin/plugin_v1.h, handle).
    if (consumed != 0 && consumed != 1)
      return Refuse(ctx, absl::StrCat(consumed, " from handle (expected 1 or 0)"));
    if (consumed == 0) return std::nullopt;
    for (auto& [key, value] : out.changes) {
      if (value) ctx.session.plugin_state[key] = std::move(*value);
      else ctx.session.plugin_state.erase(key);
    }
    size_t kept = 0;
    for (auto it = ctx.session.plugin_state.lower_bound(prefix_);
         it != ctx.session.plugin_state.end() && it->first.rfind(prefix_, 0) == 0; ++it)
      ++kept;
    if (kept > kPluginMaxFields) return Refuse(ctx, "more than 64 session fields");
    return std::move(out.replies);
  }

 private:
  // The reply to malformed output; nothing of this message is stored.
  std::vector<Reply> Refuse(TurnContext& ctx, std::string_view problem) const {
    ctx.session = ctx.stored;
    return {{absl::StrCat("Plugin ", name_, " failed: it returned ", std::string(problem), ". Nothing was changed."), true}};
  }

  // The command `text` starts with ("/usage", "/USAGE extra"), or nullptr.
  const CommandInfo* Find(std::string_view text) const {
    if (text.empty() || text.front() != '/') return nullptr;
    size_t end = 1;
    while (end < text.size() && text::SpaceAt(text, end) == 0 && text[end] != ':') ++end;
    const std::string word = text::ToLower(text.substr(1, end - 1));
    for (const auto& c : commands_) {
      if (c.name == word) return &c;
      for (const auto& a : c.aliases)
        if (a == word) return &c;
    }
    return nullptr;
  }

  const modelpin_plugin_v1* d_;
  void* state_;
  void* handle_;
  std::string name_;
  std::string prefix_;
  std::string source_;  // the file, "" for a descriptor already in the process
  std::vector<CommandInfo> commands_;
};

absl::StatusOr<std::vector<CommandInfo>> ReadCommands(const modelpin_plugin_v1& d, const std::string& label) {
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: ", std::string(what)));
  };
  if (d.command_count > 0 && d.commands == nullptr) return bad("commands is NULL");
  if (d.command_count > 64) return bad("more than 64 commands");
  std::vector<CommandInfo> out;
  for (size_t i = 0; i < d.command_count; ++i) {
    const modelpin_command_v1& c = d.commands[i];
    CommandInfo info{.name = OrEmpty(c.name), .summary = OrEmpty(c.summary), .usage = OrEmpty(c.usage)};
    info.owner_only = c.owner_only != 0;
    if (!IsWord(info.name)) return bad(absl::StrCat("command ", i, " has no name of [a-z0-9_-]"));
    if ((c.alias_count > 0 && c.aliases == nullptr) || (c.argument_count > 0 && c.arguments == nullptr) ||
        c.alias_count > 64 || c.argument_count > 256)
      return bad(absl::StrCat("/", info.name, ": a list is NULL or too long"));
    for (size_t k = 0; k < c.alias_count; ++k) {
      std::string a = OrEmpty(c.aliases[k]);
      if (!IsWord(a)) return bad(absl::StrCat("/", info.name, ": alias ", k, " is not of [a-z0-9_-]"));
      info.aliases.push_back(std::move(a));
    }
    for (size_t k = 0; k < c.argument_count; ++k) info.arguments.push_back(OrEmpty(c.arguments[k]));
    for (const std::string* s : {&info.summary, &info.usage})
      if (!text::IsValidUtf8(*s) || s->size() > 1024) return bad(absl::StrCat("/", info.name, ": a text is not valid UTF-8 or too long"));
    for (const auto& a : info.arguments)
      if (!text::IsValidUtf8(a) || a.size() > 256) return bad(absl::StrCat("/", info.name, ": an argument is not valid UTF-8 or too long"));
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const Plugin>> Wrap(const modelpin_plugin_v1* d, const std::string& label, void* handle) {
  if (d == nullptr) return absl::InvalidArgumentError(absl::StrCat(label, ": not a modelpin plugin (modelpin_plugin returned NULL)"));
  // abi_version and struct_size keep their place in every ABI version.
  if (d->abi_version != kPluginAbiVersion)
    return absl::FailedPreconditionError(absl::StrCat(label, ": built for modelpin plugin ABI version ", d->abi_version,
                                                      "; this modelpin loads ABI version ", kPluginAbiVersion));
  if (d->struct_size < offsetof(modelpin_plugin_v1, handle) + sizeof(d->handle))
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: struct_size ", d->struct_size,
                                                   " is smaller than ABI version 1's ", sizeof(modelpin_plugin_v1)));
  if (d->name == nullptr || !IsWord(d->name))
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: name is not of [a-z0-9_-]"));
  if (d->handle == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: handle is NULL"));
  auto commands = ReadCommands(*d, label);
  if (!commands.ok()) return commands.status();
  void* state = nullptr;
  if (d->init) {
    char error[256] = {0};
    if (d->init(&state, error, sizeof(error)) != 0) {
      error[sizeof(error) - 1] = '\0';
      return absl::FailedPreconditionError(absl::StrCat(label, ": plugin ", d->name, " failed to start: ",
                                                        error[0] ? text::SanitizeUtf8(error) : "no reason given"));
    }
  }
  return std::shared_ptr<const Plugin>(
      std::make_shared<NativePlugin>(d, state, handle, handle ? label : std::string(), *std::move(commands)));
}

// The ELF class, byte order and machine of this process: a plugin must match all three.
constexpr unsigned char kElfClass = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
constexpr unsigned char kElfData = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
#if defined(__x86_64__)
constexpr int kElfMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kElfMachine = EM_AARCH64;
#elif defined(__i386__)
constexpr int kElfMachine = EM_386;
#elif defined(__arm__)
constexpr int kElfMachine = EM_ARM;
#elif defined(__riscv)
constexpr int kElfMachine = EM_RISCV;
#elif defined(__powerpc64__)
constexpr int kElfMachine = EM_PPC64;
#elif defined(__s390x__)
constexpr int kElfMachine = EM_S390;
#else
constexpr int kElfMachine = -1;  // not checked
#endif

// Whether [offset, offset + count * size) lies inside a file of `file_size` bytes.
bool Inside(uint64_t offset, uint64_t count, uint64_t size, uint64_t file_size) {
  if (count != 0 && size > UINT64_MAX / count) return false;
  const uint64_t bytes = count * size;
  return offset <= file_size && bytes <= file_size - offset;
}

// Reads exactly `size` bytes at `offset`.
bool ReadAt(int fd, void* out, size_t size, uint64_t offset) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// Checks, before dlopen maps it, that `file` is a whole ELF shared object of this machine: the
// ELF header of this process's class, byte order and machine, of type shared object, and its
// program headers, loadable segments, section table and sections inside the file. dlopen maps a
// truncated file as it is and the process dies of SIGBUS on the first page past its end; a file
// for another machine gets an obscure error. Returns the reason for people ("" when fine).
// NOTE: a file replaced between this check and dlopen is not covered; plugin files are the
// operator's, not untrusted input.
std::string CheckSharedObject(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? "no such file" : absl::StrCat("cannot open it: ", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return absl::StrCat("cannot look at it: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  unsigned char ident[EI_NIDENT] = {};
  if (size < EI_NIDENT || !ReadAt(fd, ident, EI_NIDENT, 0) || std::memcmp(ident, ELFMAG, SELFMAG) != 0)
    return absl::StrCat("not a shared library (", size, " bytes that do not start as an ELF file does)");
  if (ident[EI_CLASS] != kElfClass)
    return absl::StrCat("an ELF file for ", ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "64-bit",
                        " machines; this modelpin is ", sizeof(void*) * 8, "-bit");
  if (ident[EI_DATA] != kElfData) return "an ELF file of the other byte order than this machine's";
  ElfW(Ehdr) eh;
  if (size < sizeof(eh) || !ReadAt(fd, &eh, sizeof(eh), 0))
    return absl::StrCat("truncated: ", size, " bytes, shorter than an ELF header");
  if (eh.e_type != ET_DYN)
    return absl::StrCat("an ELF ", eh.e_type == ET_EXEC ? "executable" : eh.e_type == ET_REL ? "object file" : "file",
                        ", not a shared library (build it with -shared -fPIC)");
  if (kElfMachine >= 0 && eh.e_machine != kElfMachine)
    return absl::StrCat("built for another machine (ELF machine ", eh.e_machine, "; this one is ", kElfMachine, ")");
  if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(ElfW(Phdr)) || (eh.e_shnum != 0 && eh.e_shentsize != sizeof(ElfW(Shdr))))
    return "a malformed ELF header";
  auto truncated = [&](std::string_view what, uint64_t end) -> std::string {
    return absl::StrCat("truncated: its ", std::string(what), " ends at byte ", end, " but the file has ", size, " bytes");
  };
  if (!Inside(eh.e_phoff, eh.e_phnum, sizeof(ElfW(Phdr)), size))
    return truncated("program header table", eh.e_phoff + uint64_t{eh.e_phnum} * sizeof(ElfW(Phdr)));
  std::vector<ElfW(Phdr)> ph(eh.e_phnum);
  if (!ReadAt(fd, ph.data(), ph.size() * sizeof(ElfW(Phdr)), eh.e_phoff)) return "unreadable program headers";
  for (size_t i = 0; i < ph.size(); ++i)
    if (ph[i].p_type == PT_LOAD && !Inside(ph[i].p_offset, 1, ph[i].p_filesz, size))
      return truncated(absl::StrCat("loadable segment ", i), ph[i].p_offset + ph[i].p_filesz);
  if (eh.e_shnum != 0) {
    if (!Inside(eh.e_shoff, eh.e_shnum, sizeof(ElfW(Shdr)), size))
      return truncated("section table", eh.e_shoff + uint64_t{eh.e_shnum} * sizeof(ElfW(Shdr)));
    std::vector<ElfW(Shdr)> sh(eh.e_shnum);
    if (!ReadAt(fd, sh.data(), sh.size() * sizeof(ElfW(Shdr)), eh.e_shoff)) return "an unreadable section table";
    for (size_t i = 0; i < sh.size(); ++i)
      if (sh[i].sh_type != SHT_NOBITS && !Inside(sh[i].sh_offset, 1, sh[i].sh_size, size))
        return truncated(absl::StrCat("section ", i), sh[i].sh_offset + sh[i].sh_size);
  }
  return "";
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Plugin>> PluginFromDescriptor(const modelpin_plugin_v1* descriptor,
                                                                   const std::string& label) {
  return Wrap(descriptor, label, nullptr);
}

absl::StatusOr<std::shared_ptr<const Plugin>> LoadPlugin(const std::string& path) {
  const std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  if (std::string why = CheckSharedObject(file); !why.empty())
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot load plugin: ", why));
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot load plugin: ", why ? why : "dlopen failed"));
  }
  auto entry = reinterpret_cast<modelpin_plugin_entry_fn>(dlsym(handle, MODELPIN_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    dlclose(handle);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a modelpin plugin (it exports no ", MODELPIN_PLUGIN_ENTRY_SYMBOL, " function)"));
  }
  auto plugin = Wrap(entry(), path, handle);
  if (!plugin.ok()) dlclose(handle);
  return plugin;
}

}  // namespace modelpin
