// berth's built-in YARA rules. Each rule's `severity` meta is one of Critical/High/Medium/Low.
// Kept deliberately small and precise: a registry scanner must not cry wolf on every image.

rule EICAR_Test_File {
    meta:
        description = "EICAR anti-malware test file"
        severity = "Critical"
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar at 0 or ($eicar and filesize < 256)
}

rule XMRig_Miner {
    meta:
        description = "XMRig cryptocurrency miner"
        severity = "High"
    strings:
        $a = "xmrig" nocase
        $b = "stratum+tcp://" ascii
        $c = "donate-level" ascii
        $d = "cryptonight" ascii nocase
    condition:
        $a and 2 of ($b, $c, $d)
}

rule Reverse_Shell_Oneliner {
    meta:
        description = "Shell reverse-connection one-liner"
        severity = "High"
    strings:
        $bash = /bash -i >& ?\/dev\/tcp\/[0-9a-zA-Z.\-]{1,64}\/[0-9]{1,5}/
        $nc = /\bnc(at)? (-[a-z]+ )*-e \/bin\/(ba)?sh\b/
        $py = "socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect(("
    condition:
        filesize < 1MB and any of them
}

rule PHP_Webshell_Eval {
    meta:
        description = "PHP web shell evaluating request input"
        severity = "High"
    strings:
        $a = /eval\s*\(\s*(base64_decode|gzinflate|str_rot13)\s*\(\s*\$_(POST|GET|REQUEST|COOKIE)/ nocase
        $b = /(system|passthru|shell_exec|assert)\s*\(\s*\$_(POST|GET|REQUEST)\[/ nocase
    condition:
        filesize < 1MB and any of them
}
