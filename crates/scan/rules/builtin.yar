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

rule ClamAV_Test_File {
    meta:
        description = "ClamAV test file (clam.exe)"
        severity = "Critical"
    strings:
        // The import names ClamAV's own test signature (`Test.LDB` in its test suite) looks
        // for in clam.exe: KERNEL32.DLL, ExitProcess, USER32.DLL, MessageBoxA, written as
        // "CLAMessageBoxA" by the test program.
        $imports = { 4B 45 52 4E 45 4C 33 32 2E 44 4C 4C 00 00 45 78 69 74 50 72 6F 63 65 73 73 00 55 53 45 52 33 32 2E 44 4C 4C 00 43 4C 41 4D 65 73 73 61 67 65 42 6F 78 41 }
    condition:
        uint16(0) == 0x5A4D and filesize < 64KB and $imports
}
