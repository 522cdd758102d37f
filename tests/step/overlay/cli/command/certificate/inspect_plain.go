package certificate

// Added by tests/step/build.sh: Debian does not package github.com/smallstep/certinfo or
// github.com/smallstep/zcrypto, which `step certificate inspect` uses to print certificates.
// This plain replacement prints the fields a test needs, as text or JSON.

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

type plainInfo struct {
	Kind         string     `json:"kind"`
	Subject      string     `json:"subject"`
	Issuer       string     `json:"issuer,omitempty"`
	SerialNumber string     `json:"serial_number,omitempty"`
	NotBefore    *time.Time `json:"not_before,omitempty"`
	NotAfter     *time.Time `json:"not_after,omitempty"`
	IsCA         bool       `json:"is_ca"`
	KeyAlgorithm string     `json:"public_key_algorithm"`
	SigAlgorithm string     `json:"signature_algorithm"`
	DNSNames     []string   `json:"dns_names,omitempty"`
	IPAddresses  []string   `json:"ip_addresses,omitempty"`
	Emails       []string   `json:"email_addresses,omitempty"`
	URIs         []string   `json:"uris,omitempty"`
}

func plainCertificate(c *x509.Certificate) plainInfo {
	i := plainSANs(c.DNSNames, c.IPAddresses, c.EmailAddresses, c.URIs)
	notBefore, notAfter := c.NotBefore.UTC(), c.NotAfter.UTC()
	i.Kind, i.Subject, i.Issuer = "X.509v3 Certificate", c.Subject.String(), c.Issuer.String()
	i.SerialNumber, i.NotBefore, i.NotAfter, i.IsCA = c.SerialNumber.String(), &notBefore, &notAfter, c.IsCA
	i.KeyAlgorithm, i.SigAlgorithm = c.PublicKeyAlgorithm.String(), c.SignatureAlgorithm.String()
	return i
}

func plainCertificateRequest(r *x509.CertificateRequest) plainInfo {
	i := plainSANs(r.DNSNames, r.IPAddresses, r.EmailAddresses, r.URIs)
	i.Kind, i.Subject = "X.509v3 Certificate Signing Request", r.Subject.String()
	i.KeyAlgorithm, i.SigAlgorithm = r.PublicKeyAlgorithm.String(), r.SignatureAlgorithm.String()
	return i
}

func plainSANs(dns []string, ips []net.IP, emails []string, uris []*url.URL) plainInfo {
	i := plainInfo{DNSNames: dns, Emails: emails}
	for _, ip := range ips {
		i.IPAddresses = append(i.IPAddresses, ip.String())
	}
	for _, u := range uris {
		i.URIs = append(i.URIs, u.String())
	}
	return i
}

// Text prints one field per line; short leaves out the CA flag (certificates only) and signature algorithm.
func (i plainInfo) Text(short bool) string {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %-14s %s\n", k+":", v)
		}
	}
	fmt.Fprintf(&b, "%s (%s)\n", i.Kind, i.KeyAlgorithm)
	line("Serial", i.SerialNumber)
	line("Subject", i.Subject)
	line("Issuer", i.Issuer)
	if i.NotBefore != nil {
		line("Valid from", i.NotBefore.Format(time.RFC3339))
		line("Valid to", i.NotAfter.Format(time.RFC3339))
	}
	line("DNS names", strings.Join(i.DNSNames, ", "))
	line("IP addresses", strings.Join(i.IPAddresses, ", "))
	line("Emails", strings.Join(i.Emails, ", "))
	line("URIs", strings.Join(i.URIs, ", "))
	if !short {
		if i.NotBefore != nil {
			line("CA", fmt.Sprint(i.IsCA))
		}
		line("Signature", i.SigAlgorithm)
	}
	return b.String()
}
