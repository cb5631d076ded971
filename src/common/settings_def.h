// The one list of every Halo setting: HALO_INT_SETTING(name, default, minimum, maximum, doc) and
// HALO_STRING_SETTING(name, default, doc). Names carry their unit last; an integer outside its range is
// refused wherever it comes from.
// Each setting can be set, in increasing precedence, by its default, the YAML file given with --config,
// the environment variable HALO_<NAME> (upper case), and the command-line flag --<name-with-dashes>.
// `halo config` prints every effective value and where it came from. Included with both macros defined.

// --- head process and session ---
HALO_INT_SETTING(port, 6480, 0, 65535, "TCP port the GCS serves gRPC on; 0 picks a free port")
HALO_STRING_SETTING(host, "127.0.0.1",
             "IP address this process binds to and advertises; a node agent or driver not given one uses the local "
             "address of its route to the GCS")
HALO_STRING_SETTING(advertise_host, "",
             "address other processes dial to reach this one when it differs from host (NAT, containers, host "
             "0.0.0.0); default: host")
HALO_STRING_SETTING(session_root, "/tmp/halo",
             "where new sessions are made and <session_root>/session_latest points at the newest")
HALO_STRING_SETTING(session_dir, "",
             "session directory for logs and pid files (default: a new <session_root>/session_<time>_<pid>)")
HALO_STRING_SETTING(log_level, "info", "log level: trace, debug, info, warn, error")
HALO_INT_SETTING(gcs_start_timeout_ms, 60000, 1, kNoMaximum, "how long `halo start` waits for the GCS to serve")
HALO_INT_SETTING(stop_grace_period_ms, 10000, 0, kNoMaximum, "how long `halo stop` waits after SIGTERM before SIGKILL")
HALO_INT_SETTING(rpc_timeout_ms, 10000, 1, kNoMaximum, "deadline of one call from the CLI or a client to the GCS")
HALO_STRING_SETTING(head_mode, "single",
             "single: the GCS serves once it has loaded storage; ha: it first competes for the leader lease in "
             "its Redis storage, serves only while it holds it, and fences its writes with its epoch")
HALO_INT_SETTING(leader_lease_ms, 1000, 10, kNoMaximum,
             "head_mode ha: how long the leader lease lasts unless renewed; a failed leader is replaced about this "
             "long after it stops renewing")
HALO_INT_SETTING(leader_renew_interval_ms, 250, 1, kNoMaximum,
             "head_mode ha: how often the leader renews its lease (must be under 45% of leader_lease_ms)")
HALO_INT_SETTING(leader_retry_interval_ms, 100, 1, kNoMaximum,
             "head_mode ha: how often a standby tries to take the lease and rereads who leads")
HALO_INT_SETTING(gcs_restarts_max, 0, -1, kNoMaximum,
             "times a supervised GCS is restarted after it dies unexpectedly (-1: always); 0: halo-gcs runs "
             "unsupervised. `halo start --head` uses -1 unless this is set")
HALO_INT_SETTING(gcs_restart_delay_max_ms, 5000, 1, kNoMaximum,
             "largest pause before a supervised GCS is restarted (the first is 100 ms; each quick death doubles it)")

// --- security and connections (every gRPC server and client of the cluster) ---
HALO_STRING_SETTING(auth_mode, "token",
             "token: every gRPC call between the cluster's processes must carry the cluster token (the head "
             "makes one, or takes HALO_AUTH_TOKEN or auth_token_file); off: none is checked, allowed only when "
             "host is a loopback address")
HALO_STRING_SETTING(auth_token_file, "",
             "file holding the cluster token (readable by its owner only); default: HALO_AUTH_TOKEN, else "
             "<session_dir>/auth_token")
HALO_STRING_SETTING(tls_cert, "",
             "certificate (PEM) this process presents to its peers; with tls_key and tls_ca it turns on mutual "
             "TLS for every gRPC connection")
HALO_STRING_SETTING(tls_key, "", "private key (PEM) of tls_cert")
HALO_STRING_SETTING(tls_ca, "", "CA certificate (PEM) that every peer's certificate must be signed by")
HALO_STRING_SETTING(tls_server_name, "",
             "name a peer's certificate must carry (default: the host dialed, IP address or name)")
HALO_INT_SETTING(rpc_handshake_timeout_ms, 5000, 1, kNoMaximum,
             "a gRPC connection that has not finished its TLS handshake (or sent its HTTP/2 preface) this long "
             "after it opened is closed")
HALO_INT_SETTING(rpc_connection_idle_max_ms, 300000, 1, kNoMaximum,
             "a gRPC server closes a connection that has had no call for this long (clients reconnect when they "
             "next call)")
HALO_INT_SETTING(rpc_streams_per_connection_max, 4096, 1, kNoMaximum,
             "calls one connection may have open at once on a gRPC server; more wait at the client")
HALO_INT_SETTING(rpc_receive_message_max_bytes, 256LL * 1024 * 1024, 1024 * 1024, 2147483647,
             "largest gRPC message a node agent, worker or driver takes (objects move in object_chunk_bytes "
             "chunks); a larger one is refused before it is read whole")
HALO_INT_SETTING(memory_trim_interval_ms, 10000, 100, kNoMaximum,
             "the GCS and node agents give memory they freed back to the system this often (after a burst of "
             "connections or a large listing)")
HALO_INT_SETTING(rpc_server_memory_max_bytes, 512LL * 1024 * 1024, 1024 * 1024, kNoMaximum,
             "memory the GCS's gRPC server spends on connections and buffers; past it new connections and calls "
             "are refused until memory is given back")

// --- storage ---
HALO_STRING_SETTING(storage, "embedded",
             "where the GCS keeps its state: embedded (RocksDB), memory, redis://[user:password@]host:port, "
             "or rediss://... for TLS")
HALO_STRING_SETTING(storage_path, "", "RocksDB directory for embedded storage (default: <session_dir>/storage)")
HALO_STRING_SETTING(storage_namespace, "default",
             "namespace of this cluster's tables in shared storage (must not contain '@')")
HALO_STRING_SETTING(redis_ca_cert, "", "CA certificate (PEM) that verifies a rediss:// server")
HALO_STRING_SETTING(redis_client_cert, "", "client certificate (PEM) for rediss:// mutual TLS")
HALO_STRING_SETTING(redis_client_key, "", "client private key (PEM) for rediss:// mutual TLS")
HALO_STRING_SETTING(redis_server_name, "",
             "TLS server name for SNI and certificate verification (default: the URI's host)")
HALO_INT_SETTING(storage_unavailable_timeout_ms, 30000, 1, kNoMaximum,
             "the GCS exits if storage stays unreachable this long (also bounds the first connection)")
HALO_INT_SETTING(storage_connect_timeout_ms, 2000, 1, kNoMaximum, "bound on one connection attempt to Redis")
HALO_INT_SETTING(storage_reply_timeout_ms, 10000, 1, kNoMaximum,
             "a Redis connection with commands outstanding and no reply for this long is reopened")
HALO_INT_SETTING(storage_retry_initial_ms, 50, 1, kNoMaximum, "first reconnect delay; doubles per failed attempt")
HALO_INT_SETTING(storage_retry_max_ms, 1000, 1, kNoMaximum, "largest reconnect delay")
HALO_INT_SETTING(storage_pending_ops_max, 100000, 1, kNoMaximum,
             "storage operations that may wait for a connection before new ones fail at once")
HALO_INT_SETTING(storage_replicas_ack, 0, 0, 100,
             "Redis storage: a write (and every epoch and leader-lease operation) is acknowledged only once Redis's "
             "WAIT confirms this many replicas have it; 0: once the primary has it")
HALO_INT_SETTING(storage_replicas_ack_timeout_ms, 1000, 1, kNoMaximum,
             "how long one WAIT may take; a write its replicas did not confirm within it is reported failed")
HALO_INT_SETTING(rocksdb_write_batch_max, 1024, 1, kNoMaximum, "writes grouped into one synced RocksDB batch at most")

// --- membership and failure detection ---
HALO_INT_SETTING(health_check_initial_delay_ms, 200, 0, kNoMaximum, "delay before the first health probe of a new node")
HALO_INT_SETTING(health_check_period_ms, 300, 1, kNoMaximum, "pause between the end of one health probe and the next")
HALO_INT_SETTING(health_check_timeout_ms, 700, 1, kNoMaximum, "a health probe not answered within this fails")
HALO_INT_SETTING(health_check_failure_threshold, 3, 1, kNoMaximum,
             "consecutive failed probes that make a node DEAD (the first makes it SUSPECTED)")
HALO_INT_SETTING(node_peer_sync_interval_ms, 1000, 1, kNoMaximum,
             "how often a node agent updates the set of drivers and lessees it health-checks from its leases")
HALO_INT_SETTING(driver_failure_threshold, 10, 1, kNoMaximum,
             "consecutive failed health checks after which the GCS finishes a driver's job, and a node agent ends "
             "the job or leases of a driver or lessee it depends on (more than a node's: it cannot be undone)")
HALO_INT_SETTING(dead_nodes_max, 1000, 0, kNoMaximum, "dead nodes kept for `halo list nodes`; the oldest are forgotten")
HALO_INT_SETTING(gcs_reconnect_timeout_ms, 60000, 1, kNoMaximum, "a node agent exits if the GCS stays unreachable this long")
HALO_INT_SETTING(gcs_retry_initial_ms, 100, 1, kNoMaximum, "first delay before a node agent retries the GCS; doubles")
HALO_INT_SETTING(gcs_retry_max_ms, 2000, 1, kNoMaximum, "largest delay between a node agent's retries of the GCS")
HALO_INT_SETTING(pubsub_poll_wait_ms, 10000, 1, kNoMaximum, "how long the GCS holds a subscriber's poll when nothing is new")
HALO_INT_SETTING(pubsub_buffer_events_max, 10000, 1, kNoMaximum,
             "node events the GCS keeps for subscribers that fall behind (then they get a snapshot)")
HALO_INT_SETTING(pubsub_subscribers_max, 10000, 1, kNoMaximum, "subscribers the GCS serves at once")
HALO_INT_SETTING(node_lease_ms, 2500, 100, kNoMaximum,
             "how long a node agent's lease from the GCS lasts; an agent that can neither renew it nor get a "
             "majority of its peers to vouch that the GCS is down for them too stops its workers and exits, and "
             "the GCS restarts an unreachable node's actors only after its lease has lapsed")
HALO_INT_SETTING(node_lease_renew_interval_ms, 250, 1, kNoMaximum, "how often a node agent renews its lease")
HALO_INT_SETTING(node_vouch_after_ms, 1000, 1, kNoMaximum,
             "a node agent that has heard no lease grant for this long asks its peers to vouch for it, and "
             "vouches for peers that ask")
HALO_INT_SETTING(node_port, 0, 0, 65535, "TCP port the node agent serves gRPC on; 0 picks a free port")
HALO_INT_SETTING(gcs_metrics_port, 0, -1, 65535,
             "TCP port the GCS serves Prometheus metrics on (GET /metrics); 0: none; -1 picks a free port")
HALO_INT_SETTING(node_metrics_port, 0, -1, 65535,
             "TCP port the node agent serves Prometheus metrics on (GET /metrics); 0: none; -1 picks a free port")
HALO_INT_SETTING(metrics_snapshot_timeout_ms, 2000, 1, kNoMaximum,
             "a scrape waits at most this long for a daemon's state (its executor may be busy)")
HALO_INT_SETTING(cluster_events_max, 10000, 1, kNoMaximum,
             "cluster events the GCS keeps (in storage and memory) for `halo events` and the dashboard; the "
             "oldest are dropped")
HALO_INT_SETTING(cluster_events_list_max, 1000, 1, kNoMaximum, "most cluster events one listing returns")
HALO_INT_SETTING(dashboard_port, 0, -1, 65535,
             "TCP port the GCS (leader and standbys) serves the web dashboard and its JSON API on; 0: none; -1 "
             "picks a free port")
HALO_INT_SETTING(num_cpus, -1, -1, kNoMaximum, "CPUs this node offers; -1: all of this machine's")
HALO_STRING_SETTING(resources, "", "extra resources this node offers: NAME=AMOUNT,... (CPU=4,memory=8e9)")
HALO_STRING_SETTING(labels, "", "labels of this node: KEY=VALUE,...")
HALO_INT_SETTING(node_start_timeout_ms, 30000, 1, kNoMaximum, "how long `halo start` waits for a node agent to register")

// --- key-value store ---
HALO_INT_SETTING(kv_value_max_bytes, 4000000, 1, kNoMaximum, "largest value the internal KV store accepts")
HALO_INT_SETTING(kv_list_max_keys, 100000, 1, kNoMaximum, "most keys one KV list call returns")

// --- tasks, workers and leases ---
HALO_INT_SETTING(worker_start_timeout_ms, 30000, 1, kNoMaximum,
             "a worker process that has not registered with its node agent this long after starting is killed")
HALO_INT_SETTING(worker_idle_timeout_ms, 60000, 1, kNoMaximum,
             "an idle worker beyond the prestarted ones is stopped after this long")
HALO_INT_SETTING(node_lease_requests_max, 10000, 1, kNoMaximum,
             "worker-lease requests a node agent holds waiting at once; one more is refused at once, saying so")
HALO_INT_SETTING(task_unschedulable_timeout_ms, 30000, 0, kNoMaximum,
             "a task (or a rebuild) whose resources no live node offers waits this long for a node that fits to "
             "join, then fails with TaskUnschedulable")
HALO_INT_SETTING(node_workers_max, 0, 0, kNoMaximum,
             "worker processes a node agent runs at once; 0: four per CPU, at least 64")
HALO_INT_SETTING(num_prestart_workers, -1, -1, kNoMaximum,
             "workers a node starts for a job on its first lease request; -1: one per CPU")
HALO_INT_SETTING(worker_lease_idle_ms, 100, 0, kNoMaximum,
             "a submitter keeps a leased worker with no work this long before returning it to its node")
HALO_INT_SETTING(worker_lease_ms, 500, 10, kNoMaximum,
             "a worker stops serving and exits when its node agent has not renewed its lease for this long (the "
             "agent paused, hung or gone); the agent renews it four times as often")
HALO_INT_SETTING(worker_driver_check_period_ms, 1000, 1, kNoMaximum,
             "a worker health-checks its job's driver this often (each check may take as long); after "
             "health_check_failure_threshold failed checks in a row it exits, unless it hosts a detached actor")
HALO_INT_SETTING(task_batch_max, 200, 1, kNoMaximum, "tasks a submitter pushes to a leased worker in one call")
HALO_INT_SETTING(task_batches_in_flight_max, 2, 1, kNoMaximum, "calls of pushed tasks outstanding per leased worker")
HALO_INT_SETTING(task_pending_per_shape_max, 1000000, 1, kNoMaximum,
             "unfinished tasks one driver or worker may have submitted per resource shape; past it Remote() "
             "throws PendingTasksLimitExceeded and submits nothing")
HALO_INT_SETTING(lease_requests_in_flight_max, 8, 1, kNoMaximum,
             "worker lease requests one submitter has outstanding per resource shape")
HALO_INT_SETTING(node_unreachable_timeout_ms, 10000, 1, kNoMaximum,
             "a submitter that cannot reach its node agent this long fails the tasks waiting for it (NodeDied)")

// --- actors ---
HALO_INT_SETTING(gcs_wait_timeout_ms, 30000, 1, kNoMaximum,
             "how long a driver or worker retries the GCS when creating, looking up or killing an actor before "
             "it fails")
HALO_INT_SETTING(actor_restart_delay_initial_ms, 200, 1, kNoMaximum,
             "an actor instance that died while being made, or soon after starting (actor_restart_stable_ms), is "
             "restarted after this pause, doubled for each such death in a row")
HALO_INT_SETTING(actor_restart_delay_max_ms, 10000, 1, kNoMaximum, "largest pause before an actor is restarted")
HALO_INT_SETTING(actor_restart_stable_ms, 10000, 0, kNoMaximum,
             "an actor instance that lived this long before it died is restarted at once, and its backoff starts over")
HALO_INT_SETTING(dead_actors_max, 1000, 0, kNoMaximum,
             "dead actors kept for `halo list actors`; the oldest are forgotten")

// --- objects ---
HALO_INT_SETTING(object_inline_max_bytes, 100 * 1024, 0, kNoMaximum,
             "task results and Put values up to this size travel inline with their owner; larger ones stay in a "
             "node's object store")
HALO_INT_SETTING(object_store_memory_bytes, 2LL * 1024 * 1024 * 1024, 1, kNoMaximum,
             "memory a node's object store uses before it spills objects to local disk")
HALO_INT_SETTING(object_chunk_bytes, 1024 * 1024, 1024, kNoMaximum, "objects move between processes in chunks of this size")
HALO_INT_SETTING(runtime_counters_report_interval_ms, 5000, 100, kNoMaximum,
             "drivers and workers report their task counters (submitted, retried, failed, objects rebuilt and "
             "lost) to the GCS this often, when they changed, for its metrics")
HALO_INT_SETTING(runtime_reporters_max, 10000, 1, kNoMaximum,
             "processes whose task counters the GCS keeps apart; past that the longest silent one is folded into "
             "the totals")
HALO_INT_SETTING(objects_rebuilt_event_interval_ms, 1000, 1, kNoMaximum,
             "a process that rebuilds lost objects reports them to the cluster event log as one objects_rebuilt "
             "event per this interval")
HALO_INT_SETTING(object_get_rounds_max, 1000, 1, kNoMaximum,
             "fetch-or-rebuild rounds one Get makes for an object whose copies keep failing, before ObjectLost "
             "(each rebuild also spends one of its task's retries)")
HALO_INT_SETTING(owner_unreachable_polls_max, 3, 1, kNoMaximum,
             "failed polls in a row (with backoff) after which a borrower takes an object's owner for gone "
             "(OwnerDied)")

// --- services (the HTTP ingress on every node agent and the GCS's reconciler) ---
HALO_INT_SETTING(serve_http_port, 8000, -1, 65535,
             "TCP port every node agent's HTTP ingress serves services on (bound to the node's host); 0 picks a "
             "free port, -1 runs no ingress")
HALO_INT_SETTING(num_serve_io_threads, 1, 1, 64, "threads of a node's HTTP ingress")
HALO_INT_SETTING(serve_request_timeout_ms, 60000, 1, kNoMaximum,
             "an HTTP request no replica answered within this long gets 504")
HALO_INT_SETTING(serve_read_timeout_ms, 10000, 1, kNoMaximum,
             "an HTTP connection that takes longer to send its next whole request (idle or slow) is closed")
HALO_INT_SETTING(serve_header_max_bytes, 16 * 1024, 256, kNoMaximum, "larger HTTP request headers get 431")
HALO_INT_SETTING(serve_body_max_bytes, 10 * 1024 * 1024, 0, kNoMaximum, "larger HTTP request bodies get 413")
HALO_INT_SETTING(serve_connections_max, 10000, 1, kNoMaximum,
             "open HTTP connections one ingress keeps; more are closed at once")
HALO_INT_SETTING(serve_attempts_max, 3, 1, 100, "replicas one HTTP request is tried on before it gets 503")
HALO_INT_SETTING(serve_calls_per_push_max, 64, 1, 100000,
             "requests an ingress sends a replica in one push (those waiting while its previous push is out)")
HALO_INT_SETTING(serve_routes_wait_ms, 10000, 1, kNoMaximum,
             "how long the GCS holds an ingress's poll for route changes")
HALO_INT_SETTING(serve_reconcile_interval_ms, 500, 1, kNoMaximum,
             "the GCS checks every deployment against its target this often")
HALO_INT_SETTING(serve_downscale_delay_ms, 30000, 0, kNoMaximum,
             "an autoscaled deployment shrinks only after it wanted fewer replicas for this long")
HALO_INT_SETTING(serve_starts_per_round_max, 4, 1, kNoMaximum,
             "replicas of one deployment being started at once")
HALO_INT_SETTING(serve_ongoing_report_interval_ms, 1000, 1, kNoMaximum,
             "how often an ingress tells the GCS its requests in flight per replica (autoscaling)")
HALO_INT_SETTING(serve_deploy_timeout_ms, 300000, 1, kNoMaximum,
             "how long `halo serve deploy` waits for every replica of the new version to be healthy")
HALO_INT_SETTING(executable_chunk_bytes, 1024 * 1024, 1024, 64 * 1024 * 1024,
             "executables move to and from the GCS's executable store in chunks of this size")
HALO_INT_SETTING(executable_max_bytes, 4LL * 1024 * 1024 * 1024, 1, kNoMaximum,
             "largest executable the GCS's executable store takes")
HALO_INT_SETTING(serve_health_failure_threshold, 3, 1, kNoMaximum,
             "health checks in a row a replica fails (false, an exception, or no answer in its deployment's "
             "health_check_timeout_ms) before it is replaced")
