"""Sample public keys and a certificate, with fingerprints that ssh-keygen and
openssl computed for them (so the API's own computation is checked against
another implementation).
"""

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJNP6+V9j+SqQAvWLkiPACCYLEX7JpR5vtdZIkusLmmJ me@host"
ED25519_MD5 = "77:42:e2:94:e0:f6:4f:88:37:d8:00:ac:c5:4d:6e:3c"
RSA = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC+XKlU7Y+0RkWUD6wZdGICSekh1cDf3Gr+NwD+/J+2Vd3zm"
       "thRAEJmNsH/m2y1E2GauHgN5Y9lFZs2NNe8cXjHxjaRTp6aq4wB93+eIhOvcs3sSMmAmPxAXo8Ty1tedQAcN2Ots"
       "fhtFGJsBy5b5Mxl95jjT0066OjuTSw1dfIOVw== me@host")
RSA_MD5 = "65:05:b1:2b:93:93:b1:86:23:e5:ca:22:eb:8a:4a:ed"
ECDSA = ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBH66NVYztp/S"
         "r/HkzhyF/HTSAVuI4t9AR7C35jRBZ5UoWjWeGh0goqPRx0U7xoho7jjBYsCURAehQfha3aBOMDU= me@host")
ECDSA_MD5 = "9d:e6:ce:51:ef:d0:60:86:28:37:87:2d:72:ec:e7:1a"
CERT = """-----BEGIN CERTIFICATE-----
MIIB/jCCAWegAwIBAgIUB8WIrwDghuGfiQC+mIgwHsyeKb8wDQYJKoZIhvcNAQEL
BQAwETEPMA0GA1UEAwwGdGVzdGVyMB4XDTI2MTEyNTAxMjQwMloXDTM2MTEyMjAx
MjQwMlowETEPMA0GA1UEAwwGdGVzdGVyMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCB
iQKBgQC7axC3/Zr3Y3xvD3NJ/VeX98g8bZPVBEB9vixo17aI+J+MkjNdD629FDO5
xqgwqy4i4lq1wRtzsBjZ2aH/D+gsZgVxIr5r1uQFJwE5bZKoCfOlu8Nc0h92/XDP
dSbI2qmD2feXL5hiOIdO2XhT4lldSj7+1+qQcBVfkManm+9x7QIDAQABo1MwUTAd
BgNVHQ4EFgQUZTtzn53B+Tf3alUlbIfCM6ENd44wHwYDVR0jBBgwFoAUZTtzn53B
+Tf3alUlbIfCM6ENd44wDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOB
gQBHm1Fok91U9RAczMBrIYTfbCU91bNGMUZ2ENRhXikgYCOLyCvhv+Axw26xF8O9
tQjrUrdG8oNjp827U9rv0WWEALBcMjFd+YfUzDBI2HMBS78lV1aYbfDqBm2E7O4F
oHqMstxOJmDauSGe1SFeN0KZ1jWADC2l5s+CekH/PgOfPA==
-----END CERTIFICATE-----
"""
CERT_SHA1 = "ff:1b:3c:2a:0b:ea:6b:b5:17:b0:91:40:3f:d1:f4:89:d1:d7:7d:a2"
