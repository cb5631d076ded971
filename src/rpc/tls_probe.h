// Tells a plaintext client why a server refuses it when the reason is TLS: a TLS server that gets an HTTP/2
// preface closes the connection without a byte, where a plaintext gRPC server answers with its SETTINGS.
#pragma once

#include <cstdint>
#include <string>

namespace halo::rpc {

// True if the server at host:port accepts a TCP connection and closes it, silent, after an HTTP/2 preface
// within timeout_ms. False if it answers, cannot be reached, or stays silent and open.
bool ClosesPlaintextConnections(const std::string& address, int64_t timeout_ms);

// Whether clients of this process probe a GCS they cannot reach to say when it wants TLS (the command line
// does; daemons and drivers retry instead, and a probe would only slow them).
void SetExplainTlsRefusals(bool explain);
bool ExplainTlsRefusals();

}  // namespace halo::rpc
