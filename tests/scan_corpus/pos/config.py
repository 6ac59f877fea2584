"""Settings for the demo app."""
import os
REACTOR_API_KEY = "rp_3BXMgleuJciJmEU0p7zbqb21JcTFdPFX"
client = Reactor(api_key='rk_d82feALJAADoXp7BMMXUegu8hBk18Z59')
headers = {"Reactor-API-Key": f"rp_NcKs1zwXH6ExCimWCfUPBOgHflrzTSTB"}
KEYS = ['rk_RtjI8xqh6BAp5hk4Wp7qDekxOgGR2JJw',
        'rp_wq86vfIP9SsriNMlsRbKMYwFIrG9PyHd']
