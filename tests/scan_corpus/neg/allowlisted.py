TEST_KEY = "rp_2aujlD7VJVN4envkzak75dJwHHmTPnIt"  # pragma: allowlist secret
OTHER = 'rk_HEUanHmgIJhDmFrfGyLSmP65DYg6VO90'  # reactor-ci: allow
# pragma: allowlist nextline secret
THIRD = 'rk_xj5pjeIqYyi3h8SqOokWWsKVgR6DHUjC'
