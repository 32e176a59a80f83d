package wechat

import (
	"errors"

	"github.com/silenceper/wechat/v2/util"
)

// commonError extracts WeChat's errcode from the SDK's *util.CommonError.
func commonError(err error) (int, string, bool) {
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return int(ce.ErrCode), ce.ErrMsg, true
	}
	return 0, "", false
}
