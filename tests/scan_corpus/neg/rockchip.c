rk_aiq_uapi_sysctl_init(sns_entity_name, iq_file_dir, NULL, NULL);
ret = rk_aiq_uapi2_sysctl_prepare(ctx, width, height, RK_AIQ_WORKING_MODE_NORMAL);
rk_aiq_user_api2_ae_setExpSwAttr(ctx, expSwAttr);
XCamReturn rk_aiq_uapi_setExpMode(const rk_aiq_sys_ctx_t* ctx, opMode_t mode);
rk_aiq_uapi2_sysctl_getStaticMetas(sns_entity_name, &static_info);
