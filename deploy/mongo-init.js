// Run by compose's one-shot mongo-init service (mongosh --nodb): initiates the
// replica set rs0 of mongo1..3 and creates or updates Banshi's user. Both steps
// are idempotent, so the service may run at every `docker compose up`.
const env = process.env;
const root = "root:" + encodeURIComponent(env.MONGO_ROOT_PASSWORD) + "@";
const database = env.MONGO_BANSHI_DATABASE || "banshi";

// mongo1 may still be in the image's first-start phase (bound to localhost):
// retry for up to two minutes.
function connectRetrying(uri) {
  for (let i = 0; ; i++) {
    try {
      const c = connect(uri);
      c.adminCommand({ ping: 1 });
      return c;
    } catch (e) {
      if (i >= 60) throw e;
      sleep(2000);
    }
  }
}

let admin = connectRetrying("mongodb://" + root + "mongo1:27017/admin?directConnection=true");
let initiated = true;
try {
  admin.adminCommand({ replSetGetStatus: 1 });
} catch (e) {
  if (e.codeName !== "NotYetInitialized") throw e;
  initiated = false;
}
if (!initiated) {
  admin.adminCommand({
    replSetInitiate: {
      _id: "rs0",
      members: [
        { _id: 0, host: "mongo1:27017", priority: 2 },
        { _id: 1, host: "mongo2:27017", priority: 1 },
        { _id: 2, host: "mongo3:27017", priority: 1 },
      ],
    },
  });
  print("replica set rs0 initiated");
}

// Users are written on the primary: reach it through the replica set.
admin = connectRetrying("mongodb://" + root + "mongo1:27017,mongo2:27017,mongo3:27017/admin?replicaSet=rs0");
for (let i = 0; !admin.adminCommand({ hello: 1 }).isWritablePrimary; i++) {
  if (i >= 60) throw new Error("rs0 has no primary after two minutes");
  sleep(2000);
  admin = connectRetrying("mongodb://" + root + "mongo1:27017,mongo2:27017,mongo3:27017/admin?replicaSet=rs0");
}
const roles = [{ role: "readWrite", db: database }];
const wc = { w: "majority", wtimeout: 30000 };
if (admin.getUser("banshi") === null) {
  admin.createUser({ user: "banshi", pwd: env.MONGO_BANSHI_PASSWORD, roles: roles }, wc);
  print("user banshi created");
} else {
  admin.updateUser("banshi", { pwd: env.MONGO_BANSHI_PASSWORD, roles: roles }, wc);
  print("user banshi updated");
}
