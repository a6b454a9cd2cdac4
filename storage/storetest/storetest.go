// Package storetest gives tests the real stores: an embedded FerretDB in a temporary directory
// (or the MongoDB at MONGODB_URI), the Redis server at REDIS_URL (default
// redis://127.0.0.1:6379) and, for the store on PostgreSQL, databases on this machine's
// PostgreSQL. Every test gets its own database and its own key and channel
// prefix; nothing shared is ever flushed.
package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/rediscache"
)

// DefaultRedisURL is the Redis the tests use when REDIS_URL is not set.
const DefaultRedisURL = "redis://127.0.0.1:6379"

// MongoURI returns a MongoDB URI and a database name that belong to t alone: an embedded
// FerretDB in t.TempDir(), or a fresh database on MONGODB_URI, dropped when t ends.
func MongoURI(t testing.TB) (uri, database string) {
	t.Helper()
	database = "test_" + strings.ToLower(rand.Text()[:12])
	if uri = os.Getenv("MONGODB_URI"); uri != "" {
		t.Cleanup(func() {
			db, err := mongodb.Open(uri, database)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			db.Drop(ctx)
			db.Close(ctx)
		})
		return uri, database
	}
	e, err := mongodb.StartEmbedded(t.TempDir(), "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("storetest: start embedded FerretDB: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e.URI(), database
}

// Mongo returns an open DB that belongs to t alone and is closed when t ends.
func Mongo(t testing.TB) *mongodb.DB {
	t.Helper()
	uri, database := MongoURI(t)
	db, err := mongodb.Open(uri, database)
	if err != nil {
		t.Fatalf("storetest: open MongoDB: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		db.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("storetest: MongoDB at %s does not answer: %v", uri, err)
	}
	return db
}

// RedisURL returns REDIS_URL, or the default local server.
func RedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return DefaultRedisURL
}

// Redis returns a client of the real Redis server and a key and channel prefix that belong to
// t alone. The test fails at once, saying how to start Redis, when the server does not answer.
// The keys under the prefix are deleted when t ends. A test that sends raw commands uses the
// client's Raw.
func Redis(t testing.TB) (c *rediscache.Client, prefix string) {
	t.Helper()
	url := RedisURL()
	c, err := rediscache.Connect(url, rediscache.ConnectOptions{})
	if err != nil {
		t.Fatalf("storetest: REDIS_URL %q: %v", url, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rediscache.Ping(ctx, c); err != nil {
		c.Close()
		t.Fatalf("storetest: the tests need a real Redis server at %s, and it does not answer (%v).\n"+
			"Start one with: redis-server --daemonize yes --port 6379 --save \"\" --appendonly no\n"+
			"(bash .ci/run installs and starts it when missing), or set REDIS_URL.", url, err)
	}
	prefix = fmt.Sprintf("test:%s:", strings.ToLower(rand.Text()[:12]))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rdb := c.Raw()
		var cursor uint64
		for {
			keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 500).Result()
			if err != nil {
				break
			}
			if len(keys) > 0 {
				rdb.Del(ctx, keys...)
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		c.Close()
	})
	return c, prefix
}

// FreePort returns a loopback TCP port that nothing listens on at the moment of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("storetest: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ClusterPort returns a free loopback port for a Redis Cluster node: at most 55535, with the
// port 10,000 higher (the node's cluster bus) free too.
func ClusterPort(t testing.TB) int {
	t.Helper()
	for range 1000 {
		p := 20000 + mathrand.IntN(35535)
		a, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("storetest: no free port pair for a Redis Cluster node")
	return 0
}

// StartRedisServer runs a private redis-server on port (keeping nothing on disk) until the
// returned stop function is called or t ends; tests use it to take Redis away and bring it
// back. It fails, saying how to install it, when redis-server is not on the PATH.
func StartRedisServer(t testing.TB, port int) (stop func()) {
	t.Helper()
	return StartRedisServerIn(t, port, t.TempDir()).Kill
}

// RedisServer is a private redis-server process started by StartRedisServerIn.
type RedisServer struct {
	Port int
	Dir  string

	cmd  *exec.Cmd
	once sync.Once
}

// StartRedisServerIn runs a private redis-server on port with its data in dir until Kill is
// called or t ends. It takes no snapshot by itself (no automatic save, no append-only file): it
// writes dir/dump.rdb on SAVE only, and loads that file when started again on the same dir, as
// a Redis restored from an older snapshot does. args are more redis-server options (e.g.
// "--cluster-enabled", "yes"). It fails, saying how to install it, when redis-server is not on
// the PATH.
func StartRedisServerIn(t testing.TB, port int, dir string, args ...string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("storetest: this test runs its own redis-server and none is on the PATH: " +
			"install it with apt-get install -y redis-server (bash .ci/run does)")
	}
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("storetest: start redis-server: %v", err)
	}
	s := &RedisServer{Port: port, Dir: dir, cmd: cmd}
	t.Cleanup(s.Kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Listening is not enough: a server loading its snapshot answers LOADING until done.
		if s.answers() {
			return s
		}
		if time.Now().After(deadline) {
			s.Kill()
			t.Fatalf("storetest: redis-server on port %d did not start answering", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answers reports whether the server replies PONG to a PING.
func (s *RedisServer) answers() bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 7)
	n, _ := io.ReadFull(c, buf)
	return string(buf[:n]) == "+PONG\r\n"
}

// URL is the redis:// URL of the server.
func (s *RedisServer) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d", s.Port) }

// Kill ends the server at once (SIGKILL: nothing more is saved) and waits for it.
func (s *RedisServer) Kill() {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
}

// Pause stops the process (SIGSTOP) without closing anything: the kernel still accepts
// connections and takes what is written, and nothing answers, as with a partition or a hung
// server. Resume undoes it.
func (s *RedisServer) Pause() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *RedisServer) Resume() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Cache returns a busy cache on rc under prefix, closed when t ends. Caches on one prefix are
// instances of one hub installation.
func Cache(t testing.TB, rc *rediscache.Client, prefix string) *rediscache.Cache {
	t.Helper()
	c, err := rediscache.NewCache(rc, nil, rediscache.CacheOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// DefaultPostgreSQLURL is the PostgreSQL server the tests create their databases on when
// APPHUB_TEST_POSTGRESQL_URL is not set: this machine's, with trust authentication.
const DefaultPostgreSQLURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgreSQL returns the URL of a fresh PostgreSQL database that belongs to t alone, dropped
// (with whatever is still connected to it) when t ends. The test fails at once, saying how to
// start PostgreSQL, when the server does not answer.
func PostgreSQL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("APPHUB_TEST_POSTGRESQL_URL")
	if admin == "" {
		admin = DefaultPostgreSQLURL
	}
	name := "apphub_test_" + strings.ToLower(rand.Text()[:12])
	if err := execSQL(admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("storetest: the test needs a PostgreSQL server at %s to create a database on, and it cannot (%v).\n"+
			"bash scripts/ensure-postgresql.sh installs and starts Debian's (bash .ci/run does), or set APPHUB_TEST_POSTGRESQL_URL.", admin, err)
	}
	t.Cleanup(func() { execSQL(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisCluster is a Redis Cluster of private redis-server processes (StartRedisCluster).
type RedisCluster struct {
	Masters int
	// Nodes are the masters, then their replicas: Nodes[Masters+i] replicates Nodes[i % Masters].
	Nodes []*RedisServer
	args  []string // every node's redis-server options
}

// StartRedisCluster runs a Redis Cluster of masters, each with replicas replicas, until t ends:
// the slots split evenly among the masters, every replica in sync, the cluster's state ok on
// every node. args are more redis-server options for every node (e.g. "--cluster-node-timeout",
// "1000" for a quick failover).
func StartRedisCluster(t testing.TB, masters, replicas int, args ...string) *RedisCluster {
	t.Helper()
	c := &RedisCluster{Masters: masters, args: append([]string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"}, args...)}
	n := masters * (1 + replicas)
	for range n {
		c.Nodes = append(c.Nodes, StartRedisServerIn(t, ClusterPort(t), t.TempDir(), c.args...))
	}
	ctx := context.Background()
	admin := func(i int) *redis.Client {
		rdb := redis.NewClient(&redis.Options{Addr: c.Addr(i)})
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	clients := make([]*redis.Client, n)
	for i := range n {
		clients[i] = admin(i)
		if i < masters {
			if err := clients[i].ClusterAddSlotsRange(ctx, i*16384/masters, (i+1)*16384/masters-1).Err(); err != nil {
				t.Fatalf("storetest: cluster slots of node %d: %v", i, err)
			}
		}
		if i > 0 {
			if err := clients[0].ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(c.Nodes[i].Port)).Err(); err != nil {
				t.Fatalf("storetest: cluster meet: %v", err)
			}
		}
	}
	wait := func(what string, ok func(i int) bool) {
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; i < n; {
			if ok(i) {
				i++
				continue
			}
			if time.Now().After(deadline) {
				t.Fatalf("storetest: the Redis Cluster: waited 30 s for %s (node %d)", what, i)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("every node to know the others", func(i int) bool {
		info, err := clients[i].ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n))
	})
	for i := masters; i < n; i++ {
		id, err := clients[i%masters].ClusterMyID(ctx).Result()
		if err == nil {
			err = clients[i].ClusterReplicate(ctx, id).Err()
		}
		if err != nil {
			t.Fatalf("storetest: cluster replicate: %v", err)
		}
	}
	wait("the replicas to be in sync and the cluster to serve", func(i int) bool {
		if i >= masters {
			info, err := clients[i].Info(ctx, "replication").Result()
			if err != nil || !strings.Contains(info, "master_link_status:up") {
				return false
			}
		}
		info, err := clients[i].ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	})
	return c
}

// Restart kills node i and starts it again on its port and directory: on its last snapshot, and
// as itself (its nodes.conf).
func (c *RedisCluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.Nodes[i].Kill()
	c.Nodes[i] = StartRedisServerIn(t, c.Nodes[i].Port, c.Nodes[i].Dir, c.args...)
}

// Addr is node i's address.
func (c *RedisCluster) Addr(i int) string { return "127.0.0.1:" + strconv.Itoa(c.Nodes[i].Port) }

// URL is the Cluster URL that reaches every node (rediscache.Connect).
func (c *RedisCluster) URL() string {
	u := "redis://" + c.Addr(0)
	for i := 1; i < len(c.Nodes); i++ {
		sep := "&"
		if i == 1 {
			sep = "?"
		}
		u += sep + "addr=" + c.Addr(i)
	}
	return u
}

// PostgreSQLServer is a private PostgreSQL server of a test (StartPostgreSQLServer), which the
// test may stop and start again: the machine's own server is shared by every test running.
type PostgreSQLServer struct {
	Port int
	t    testing.TB
	dir  string
	bin  string
}

// StartPostgreSQLServer runs a PostgreSQL server of Debian's package on a free loopback port,
// with trust authentication and its data in a temporary directory, until t ends. initdb refuses
// root, so as root the server runs as the postgres user. It fails, saying how to install it,
// when PostgreSQL's programs are missing.
func StartPostgreSQLServer(t testing.TB) *PostgreSQLServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("storetest: this test runs its own PostgreSQL server and none is installed: " +
			"bash scripts/ensure-postgresql.sh installs Debian's (bash .ci/run does)")
	}
	s := &PostgreSQLServer{Port: FreePort(t), t: t, bin: strings.TrimSuffix(bins[len(bins)-1], "/initdb")}
	dir, err := os.MkdirTemp("", "apphub-postgresql-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() {
		s.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("storetest: chown %s: %v %s", dir, err, out)
		}
	}
	if err := s.run(s.bin+"/initdb", "-D", dir+"/data", "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	s.Start()
	return s
}

// run runs a PostgreSQL program, as the postgres user when the test runs as root.
func (s *PostgreSQLServer) run(args ...string) error {
	if os.Geteuid() == 0 {
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (s *PostgreSQLServer) pgctl(args ...string) error {
	return s.run(append([]string{s.bin + "/pg_ctl", "-D", s.dir + "/data", "-w", "-s"}, args...)...)
}

// Start starts the server (again) on its port and data.
func (s *PostgreSQLServer) Start() {
	s.t.Helper()
	if err := s.pgctl("start", "-l", s.dir+"/log", "-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.Port, s.dir)); err != nil {
		log, _ := os.ReadFile(s.dir + "/log")
		s.t.Fatalf("storetest: PostgreSQL did not start: %v\n%s", err, log)
	}
}

// Stop stops the server at once, as a crash would (its connections cut, no checkpoint).
func (s *PostgreSQLServer) Stop() {
	s.t.Helper()
	if err := s.pgctl("stop", "-m", "immediate"); err != nil {
		s.t.Fatalf("storetest: %v", err)
	}
}

// URL is the URL of database on the server (created with CreateDatabase).
func (s *PostgreSQLServer) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, database)
}

// CreateDatabase creates a database on the server.
func (s *PostgreSQLServer) CreateDatabase(name string) {
	s.t.Helper()
	if err := execSQL(s.URL("postgres"), "CREATE DATABASE "+name); err != nil {
		s.t.Fatalf("storetest: %v", err)
	}
}

// execSQL runs one statement on the database at dbURL, on a connection of its own.
func execSQL(dbURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
