// berth's secret rules (namespace `secrets`): credentials with a documented, checkable shape.
// The rules only find the fixed prefixes (cheap to compile and to search, in the same YARA pass
// as the malware rules); `analyze::secret_hits` then checks the characters after each prefix
// against the credential's shape, by rule name. A match is a BERTH-FS-008 baseline finding,
// not malware; `analyze::secret_path_allowed` and `secret_value_allowed` keep library source,
// test fixtures and documented example values quiet.

rule AWS_Access_Key_ID {
    meta:
        description = "AWS access key ID"
    strings:
        $akia = "AKIA"
        $asia = "ASIA"
    condition:
        any of them
}

rule AWS_Secret_Access_Key {
    meta:
        description = "AWS secret access key"
    strings:
        $a = "aws_secret_access_key" nocase
    condition:
        $a
}

rule GitHub_Token {
    meta:
        description = "GitHub token"
    strings:
        $ghp = "ghp_"
        $gho = "gho_"
        $ghu = "ghu_"
        $ghs = "ghs_"
        $ghr = "ghr_"
        $pat = "github_pat_"
    condition:
        any of them
}

rule GitLab_Token {
    meta:
        description = "GitLab personal access token"
    strings:
        $a = "glpat-"
    condition:
        $a
}

rule Slack_Token {
    meta:
        description = "Slack token"
    strings:
        $xoxb = "xoxb-"
        $xoxp = "xoxp-"
        $xoxa = "xoxa-"
        $xoxr = "xoxr-"
        $xoxs = "xoxs-"
        $hook = "hooks.slack.com/services/"
    condition:
        any of them
}

// Generic assignments (`DB_PASSWORD = "..."`): the rule finds the secret words (the list of
// `baseline::SECRET_WORDS`); `generic_secret::assignment_at` checks the assignment around each
// one, the value's entropy and the allow-lists.
rule Generic_Secret {
    meta:
        description = "Generic secret"
    strings:
        $password = "password" nocase
        $passwd = "passwd" nocase
        $secret = "secret" nocase
        $token = "token" nocase
        $api_key = "api_key" nocase
        $apikey = "apikey" nocase
        $api_key2 = "api-key" nocase
        $access_key = "access_key" nocase
        $private_key = "private_key" nocase
        $credential = "credential" nocase
        $auth_key = "auth_key" nocase
    condition:
        any of them
}
