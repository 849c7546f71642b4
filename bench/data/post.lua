wrk.method = "POST"
wrk.body = "{\"eventType\":\"answer\",\"from\":\"+15753222083\",\"to\":\"+13865245000\",\"callId\":\"c-jjm3aiicnpngixjjelyomda\",\"callUri\":\"https://api.catapult.inetwork.com/v1/users/u-ndh7ecxejswersdu5g8zngvca/calls/c-jjm3aiicnpngixjjelyomda\",\"callState\":\"active\",\"applicationId\":\"a-25nh2lj6qrxznkfu4b732jy\",\"time\":\"2012-11-14T16:28:31.536Z\"}"
wrk.headers["Content-Type"] = "application/json; charset=utf-8"
wrk.headers["Authorization"] = "Basic YnctdXNlcjpzM2NyZXQ="
