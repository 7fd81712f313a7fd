// Package localstack starts and drives the local parts that stand in for Azure during
// development and tests: Azurite (the Azure Storage emulator, from package.json), the
// ARM stand-in, and the real handler binary, driven with the Functions host's wire
// format. It is never imported by the product.
package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// devAccountKey is Azurite's published, well-known development key (not a secret).
const devAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// Azurite is a running Azurite table service.
type Azurite struct {
	Port int
	dir  string
	bin  string
	cmd  *exec.Cmd
	out  bytes.Buffer
}

// ProjectRoot finds the directory holding go.mod, walking up from the working directory.
func ProjectRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// AzuriteBinary is the azurite-table executable that `npm ci` installs.
func AzuriteBinary() (string, error) {
	root, err := ProjectRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "node_modules", ".bin", "azurite-table")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("azurite is not installed (run `npm ci` in the project root): %w", err)
	}
	return bin, nil
}

// StartAzurite starts Azurite's table service on a free loopback port with its data
// in dir, and waits until it accepts connections.
func StartAzurite(ctx context.Context, dir string) (*Azurite, error) {
	bin, err := AzuriteBinary()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	a := &Azurite{Port: port, dir: dir, bin: bin}
	return a, a.start(ctx)
}

func (a *Azurite) start(ctx context.Context) error {
	a.out.Reset()
	a.cmd = exec.Command(a.bin, "--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(a.Port),
		"--location", a.dir, "--silent", "--disableTelemetry", "--skipApiVersionCheck")
	a.cmd.Stdout, a.cmd.Stderr = &a.out, &a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		return fmt.Errorf("start azurite: %w", err)
	}
	if err := WaitTCP(ctx, a.Port, 30*time.Second); err != nil {
		a.Stop()
		return fmt.Errorf("azurite did not start: %w; output: %s", err, a.out.String())
	}
	return nil
}

// ConnectionString is the explicit connection string aztables needs for Azurite.
func (a *Azurite) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;TableEndpoint=http://127.0.0.1:%d/devstoreaccount1;", devAccountKey, a.Port)
}

// Stop shuts Azurite down as a service stop would: it is asked to exit, which lets it
// flush its data to disk, and killed if it has not after 10 s.
func (a *Azurite) Stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	a.cmd = nil
}

// Restart stops Azurite and starts it again on the same port and data.
func (a *Azurite) Restart(ctx context.Context) error {
	a.Stop()
	return a.start(ctx)
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }() // only its port is wanted
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitTCP waits until something accepts connections on the loopback port.
func WaitTCP(ctx context.Context, port int, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close() // the port answered: that was the question
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listening on %s: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
