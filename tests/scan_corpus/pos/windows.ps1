# PowerShell, CRLF line endings
$env:REACTOR_API_KEY = "rp_BM1RTPkxBFNidQCPgRf5CzIcjuncriVf"
Set-Item Env:APP_KEY 'rk_C2zvs6k4tNOpY97MlxttrpOuYzmWhplt'
