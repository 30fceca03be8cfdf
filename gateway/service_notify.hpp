// Tells systemd (Type=notify) what the process is doing, through $NOTIFY_SOCKET: ready after the
// start, and which process is the service's main one after a binary upgrade.
#pragma once

#include <string>

namespace wsgate::gateway {

// One datagram of "KEY=VALUE" lines; nothing when the variable is unset (not under systemd).
void notify_service_manager(const std::string& state);

}  // namespace wsgate::gateway
