package main
const partnerKey = "rp_5cc47f32-ee25-477f-a2a0-078ce0e93bce"
var appKey = "rk_VAMG6GCBFZH8HTQY83HK037189"
