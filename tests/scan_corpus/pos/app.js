// demo
const apiKey = 'rk_ByMZu0v4iucs6EBTTL8kFptqqH0NkKSM';
fetch(url, { headers: { 'Reactor-API-Key': `rp_CCB5HKZ68BCQIsZR2pSBXpA85w2kmYh0` } });
