// The one list of every Halo setting: HALO_SETTING(type, name, default, doc). Names carry their unit last.
// Each setting can be set, in increasing precedence, by its default, the YAML file given with --config,
// the environment variable HALO_<NAME> (upper case), and the command-line flag --<name-with-dashes>.
// `halo config` prints every effective value and where it came from. Included with HALO_SETTING defined.

// --- head process and session ---
HALO_SETTING(int64_t, port, 6480, "TCP port the GCS serves gRPC on; 0 picks a free port")
HALO_SETTING(std::string, host, "127.0.0.1", "IP address the GCS binds to and advertises")
HALO_SETTING(std::string, session_root, "/tmp/halo",
             "where new sessions are made and <session_root>/session_latest points at the newest")
HALO_SETTING(std::string, session_dir, "",
             "session directory for logs and pid files (default: a new <session_root>/session_<time>_<pid>)")
HALO_SETTING(std::string, log_level, "info", "log level: trace, debug, info, warn, error")
HALO_SETTING(int64_t, gcs_start_timeout_ms, 60000, "how long `halo start` waits for the GCS to serve")
HALO_SETTING(int64_t, stop_grace_period_ms, 10000, "how long `halo stop` waits after SIGTERM before SIGKILL")
HALO_SETTING(int64_t, rpc_timeout_ms, 10000, "deadline of one call from the CLI or a client to the GCS")

// --- storage ---
HALO_SETTING(std::string, storage, "embedded",
             "where the GCS keeps its state: embedded (RocksDB), memory, redis://[user:password@]host:port, "
             "or rediss://... for TLS")
HALO_SETTING(std::string, storage_path, "", "RocksDB directory for embedded storage (default: <session_dir>/storage)")
HALO_SETTING(std::string, storage_namespace, "default",
             "namespace of this cluster's tables in shared storage (must not contain '@')")
HALO_SETTING(std::string, redis_ca_cert, "", "CA certificate (PEM) that verifies a rediss:// server")
HALO_SETTING(std::string, redis_client_cert, "", "client certificate (PEM) for rediss:// mutual TLS")
HALO_SETTING(std::string, redis_client_key, "", "client private key (PEM) for rediss:// mutual TLS")
HALO_SETTING(std::string, redis_server_name, "",
             "TLS server name for SNI and certificate verification (default: the URI's host)")
HALO_SETTING(int64_t, storage_unavailable_timeout_ms, 30000,
             "the GCS exits if storage stays unreachable this long (also bounds the first connection)")
HALO_SETTING(int64_t, storage_connect_timeout_ms, 2000, "bound on one connection attempt to Redis")
HALO_SETTING(int64_t, storage_reply_timeout_ms, 10000,
             "a Redis connection with commands outstanding and no reply for this long is reopened")
HALO_SETTING(int64_t, storage_retry_initial_ms, 50, "first reconnect delay; doubles per failed attempt")
HALO_SETTING(int64_t, storage_retry_max_ms, 1000, "largest reconnect delay")
HALO_SETTING(int64_t, storage_pending_ops_max, 100000,
             "storage operations that may wait for a connection before new ones fail at once")
HALO_SETTING(int64_t, rocksdb_write_batch_max, 1024, "writes grouped into one synced RocksDB batch at most")

// --- membership and failure detection ---
HALO_SETTING(int64_t, health_check_initial_delay_ms, 200, "delay before the first health probe of a new node")
HALO_SETTING(int64_t, health_check_period_ms, 300, "pause between the end of one health probe and the next")
HALO_SETTING(int64_t, health_check_timeout_ms, 700, "a health probe not answered within this fails")
HALO_SETTING(int64_t, health_check_failure_threshold, 3,
             "consecutive failed probes that make a node DEAD (the first makes it SUSPECTED)")
HALO_SETTING(int64_t, dead_nodes_max, 1000, "dead nodes kept for `halo list nodes`; the oldest are forgotten")
HALO_SETTING(int64_t, gcs_reconnect_timeout_ms, 60000, "a node agent exits if the GCS stays unreachable this long")
HALO_SETTING(int64_t, gcs_retry_initial_ms, 100, "first delay before a node agent retries the GCS; doubles")
HALO_SETTING(int64_t, gcs_retry_max_ms, 2000, "largest delay between a node agent's retries of the GCS")
HALO_SETTING(int64_t, pubsub_poll_wait_ms, 10000, "how long the GCS holds a subscriber's poll when nothing is new")
HALO_SETTING(int64_t, pubsub_buffer_events_max, 10000,
             "node events the GCS keeps for subscribers that fall behind (then they get a snapshot)")
HALO_SETTING(int64_t, pubsub_subscribers_max, 10000, "subscribers the GCS serves at once")
HALO_SETTING(int64_t, node_port, 0, "TCP port the node agent serves gRPC on; 0 picks a free port")
HALO_SETTING(int64_t, num_cpus, -1, "CPUs this node offers; -1: all of this machine's")
HALO_SETTING(std::string, resources, "", "extra resources this node offers: NAME=AMOUNT,... (CPU=4,memory=8e9)")
HALO_SETTING(std::string, labels, "", "labels of this node: KEY=VALUE,...")
HALO_SETTING(int64_t, node_start_timeout_ms, 30000, "how long `halo start` waits for a node agent to register")

// --- key-value store ---
HALO_SETTING(int64_t, kv_value_max_bytes, 4000000, "largest value the internal KV store accepts")
HALO_SETTING(int64_t, kv_list_max_keys, 100000, "most keys one KV list call returns")
