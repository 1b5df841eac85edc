// Package ldaptest runs Debian's real OpenLDAP server (slapd) on loopback
// for tests, over a directory generated in the test's temp dir: an mdb
// database for dc=example,dc=org with the memberof overlay, so people get
// memberOf from the groupOfNames they are members of.
package ldaptest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The directory's names.
const (
	Base      = "dc=example,dc=org"
	People    = "ou=people," + Base
	Groups    = "ou=groups," + Base
	AdminDN   = "cn=admin," + Base
	AdminPass = "admin-secret"
)

// Directory is a running slapd.
type Directory struct {
	URL string
	t   testing.TB
}

// slapdPath finds slapd; without it a test skips locally and fails in CI.
func slapdPath(t testing.TB) string {
	for _, p := range []string{"/usr/sbin/slapd", "/usr/local/libexec/slapd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("slapd is required in CI (apt-get install slapd ldap-utils)")
	}
	t.Skip("slapd not installed: apt-get install slapd ldap-utils")
	return ""
}

// Start runs slapd until the test ends, with the base, people and groups entries.
func Start(t testing.TB) *Directory {
	t.Helper()
	slapd := slapdPath(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
database mdb
maxsize 10485760
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[5]s
overlay memberof
`, dir, Base, AdminDN, AdminPass, db)
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "ldap://" + addr
	// -d 0: stay in the foreground (no fork), so the test owns the process.
	cmd := exec.Command(slapd, "-f", confPath, "-h", url+"/", "-d", "0")
	out, _ := os.Create(filepath.Join(dir, "slapd.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); out.Close() })
	d := &Directory{URL: url, t: t}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := ldap.DialURL(url)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "slapd.log"))
			t.Fatalf("slapd did not start: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.add(Base, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	d.add(People, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	d.add(Groups, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	return d
}

func (d *Directory) admin() *ldap.Conn {
	d.t.Helper()
	c, err := ldap.DialURL(d.URL)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := c.Bind(AdminDN, AdminPass); err != nil {
		d.t.Fatal(err)
	}
	return c
}

func (d *Directory) add(dn string, attrs map[string][]string) {
	d.t.Helper()
	c := d.admin()
	defer c.Close()
	r := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		r.Attribute(k, v)
	}
	if err := c.Add(r); err != nil {
		d.t.Fatalf("add %s: %v", dn, err)
	}
}

// AddPerson adds uid=<uid> under People with a password and an address; its DN.
func (d *Directory) AddPerson(uid, name, mail, password string) string {
	dn := "uid=" + ldap.EscapeDN(uid) + "," + People
	d.add(dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {name}, "sn": {name}, "mail": {mail}, "userPassword": {password}})
	return dn
}

// AddGroup adds cn=<name> under Groups with these member DNs (at least one:
// groupOfNames needs a member); its DN.
func (d *Directory) AddGroup(name string, members ...string) string {
	dn := "cn=" + ldap.EscapeDN(name) + "," + Groups
	d.add(dn, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {name}, "member": members})
	return dn
}

// SetMembers replaces a group's members (as a directory admin would).
func (d *Directory) SetMembers(groupDN string, members ...string) {
	d.t.Helper()
	c := d.admin()
	defer c.Close()
	r := ldap.NewModifyRequest(groupDN, nil)
	r.Replace("member", members)
	if err := c.Modify(r); err != nil {
		d.t.Fatalf("modify %s: %v", groupDN, err)
	}
}

// Delete removes an entry.
func (d *Directory) Delete(dn string) {
	d.t.Helper()
	c := d.admin()
	defer c.Close()
	if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		d.t.Fatalf("delete %s: %v", dn, err)
	}
}
