// Owns: generation of client and session ids (short, random, URL-safe; shown in the API and logs).
#pragma once

#include <string>

namespace estuary {

// Returns an 8-character lowercase base-36 id, unique within this process.
std::string new_client_id();

}  // namespace estuary
